//! A CRI client as the kubelet has one: containerd's CRI plugin over its unix socket.

use std::path::PathBuf;

use k8s_cri::v1::runtime_service_client::RuntimeServiceClient;
use tonic::transport::Channel;

/// A current-thread runtime and a RuntimeService client connected to `sock`.
pub fn connect(sock: PathBuf) -> (tokio::runtime::Runtime, RuntimeServiceClient<Channel>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let channel = rt
        .block_on(
            // The URI is not used: every connection goes to the socket.
            tonic::transport::Endpoint::from_static("http://[::]:50051").connect_with_connector(
                tower::service_fn(move |_| {
                    let sock = sock.clone();
                    async move {
                        let s = tokio::net::UnixStream::connect(sock).await?;
                        Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(s))
                    }
                }),
            ),
        )
        .expect("connect to containerd's CRI socket");
    (rt, RuntimeServiceClient::new(channel))
}
