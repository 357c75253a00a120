/// Print the features this runtime supports (the OCI features document).
#[derive(clap::Args)]
pub struct Args {}

pub fn exec(_: Args) -> super::Result {
    let doc = hull_runtime::features::features();
    println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    Ok(0)
}
