//! The Docker Python SDK's own integration suite (docker-py 6.1.3's `tests/integration`, from
//! its sdist, with pytest; scripts/deps.sh installs both into target/pysdk) run against
//! `hull system service` and against a private dockerd (Debian's 20.10) in the same test.
//!
//! Why 6.1.3: it is the last SDK whose default API version is 1.41, docker 20.10's, which
//! both the dockerd here and hull serve; 7.x defaults to 1.44, which dockerd 20.10 refuses.
//!
//! Both engines load the same local image archive (a busybox rootfs with alpine 3.10's users
//! and directories the suite relies on) under the tags the suite runs (`alpine:3.10`,
//! `alpine:latest`, `busybox:latest`), so nothing is pulled. Groups that need the internet, a swarm or a
//! plugin are left out (`EXCLUDED`, each with its reason). The test passes when every SDK
//! test that passes against dockerd also passes against hull, except those in `DIFFERENCES`
//! (each with its reason); both pass counts are printed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use hull_e2e::api_service::{ok_output, text, Service};
use hull_e2e::client_support::{on_exit, output_via_files};
use hull_e2e::docker_pair::pair;
use hull_e2e::image::{image_archive, rootfs};

/// The SDK's version: scripts/deps.sh installs it (pysdk_version there).
const SDK: &str = "6.1.3";

/// The tags the suite runs its containers from (tests/integration/base.py's TEST_IMG and
/// the literal names in the tests).
const TAGS: [&str; 3] = ["alpine:3.10", "alpine:latest", "busybox:latest"];

/// Groups of the suite not run, and why: (pytest node id or file, reason).
const EXCLUDED: &[(&str, &str)] = &[
    ("api_swarm_test.py", "swarm: hull has no swarm mode"),
    ("api_service_test.py", "swarm services"),
    ("api_secret_test.py", "swarm secrets"),
    ("api_config_test.py", "swarm configs"),
    ("models_swarm_test.py", "swarm"),
    ("models_services_test.py", "swarm services"),
    ("models_nodes_test.py", "swarm nodes"),
    (
        "api_plugin_test.py",
        "plugins are pulled from Docker Hub (vieux/sshfs); hull has no plugins",
    ),    (
        "context_api_test.py",
        "docker contexts are files of the client's, not the engine's; the two runs share them",
    ),
    (
        "credentials",
        "the credential-store helper's tests (docker-credential-pass), not the engine's",
    ),
    ("api_image_test.py::PullImageTest::test_pull", HUB),
    ("api_image_test.py::PullImageTest::test_pull_streaming", HUB),
    ("api_image_test.py::ImportImageTest::test_get_load_image", HUB),
    ("api_image_test.py::PruneImagesTest::test_prune_images", HUB),
    ("api_image_test.py::InspectDistributionTest::test_inspect_distribution", HUB),
    ("models_images_test.py::ImageCollectionTest::test_list", HUB),
    ("models_images_test.py::ImageCollectionTest::test_list_with_repository", HUB),
    ("models_images_test.py::ImageCollectionTest::test_pull", HUB),
    ("models_images_test.py::ImageCollectionTest::test_pull_with_tag", HUB),
    ("models_images_test.py::ImageCollectionTest::test_pull_with_sha", HUB),
    ("models_images_test.py::ImageCollectionTest::test_pull_multiple", HUB),
    ("models_images_test.py::ImageTest::test_tag_and_remove", HUB),
    ("models_containers_test.py::ContainerCollectionTest::test_run_with_image_that_does_not_exist", HUB),
];

const HUB: &str = "pulls from Docker Hub (alpine, hello-world): the tests run offline";

/// SDK tests that pass against dockerd and not against hull, and why (README's "where hull
/// differs from docker" has the user-facing side). Those in HANGS are not run on hull.
const DIFFERENCES: &[(&str, &str)] = &[
    (
        "api_build_test.py::BuildTest::test_build_stderr_data",
        "a RUN's stderr does not reach the build stream as dockerd's classic builder sends it",
    ),
    (
        "api_build_test.py::BuildTest::test_build_with_cache_from",
        "build `cachefrom`: hull's builder has no --cache-from (a 400 naming it)",
    ),
    (
        "api_build_test.py::BuildTest::test_build_with_extra_hosts",
        "build `extrahosts`: not supported by hull's builder (a 400 naming it)",
    ),
    (
        "api_client_test.py::InformationTest::test_info",
        "`info` lacks some of docker's keys (Debug...): `hull info`'s fields are computed in the CLI crate, not an engine verb",
    ),
    (
        "api_container_test.py::ListContainersTest::test_list_containers",
        "it counts the containers while the build that test_build_with_proxy_and_buildargs \
         started and abandoned (its stream is never read) ends: dockerd keeps each RUN's \
         container (rm=false), hull removes it once it has ended, a moment after the client left",
    ),
    (
        "api_container_test.py::ContainerCPUTest::test_create_with_runtime",
        "HostConfig.Runtime: hull has one runtime per service (a 400 naming it)",
    ),
    (
        "api_container_test.py::CreateContainerTest::test_create_with_device_cgroup_rules",
        "HostConfig.DeviceCgroupRules: not supported (a 400 naming it)",
    ),
    (
        "api_container_test.py::CreateContainerTest::test_create_with_isolation",
        "HostConfig.Isolation shows \"\" where dockerd shows \"default\"",
    ),
    (
        "api_container_test.py::CreateContainerTest::test_create_with_links",
        "links set no ALIAS_* environment variables (README table)",
    ),
    (
        "api_container_test.py::CreateContainerTest::test_create_with_restart_policy",
        "wait on a restart=always container waits past its first exit (the monitor restarts it)",
    ),
    (
        "api_container_test.py::CreateContainerTest::test_group_id_ints",
        "HostConfig.GroupAdd: not supported (a 400 naming it)",
    ),
    (
        "api_container_test.py::CreateContainerTest::test_group_id_strings",
        "HostConfig.GroupAdd: not supported (a 400 naming it)",
    ),
    (
        "api_container_test.py::CreateContainerTest::test_invalid_log_driver_raises_exception",
        "an unknown log driver is refused in hull's words, not dockerd's",
    ),
    (
        "api_container_test.py::LinkTest::test_remove_link",
        "DELETE /containers/{id}/{link} (removing a link) is not served",
    ),
    ("api_image_test.py::CommitTest::test_commit", COMMITTED),
    ("api_image_test.py::CommitTest::test_commit_with_changes", COMMITTED),
    (
        "api_image_test.py::RemoveImageTest::test_remove",
        "a commit (with pause) of a container that exits meanwhile fails: hullrt pause finds no container",
    ),
    (
        "api_network_test.py::TestNetworks::test_connect_with_aliases",
        "aliases on connecting a running container are refused (only before its start)",
    ),
    (
        "api_network_test.py::TestNetworks::test_connect_with_ipv4_address",
        "IPAM.Config.IPRange: not supported (a 400 naming it)",
    ),
    (
        "api_network_test.py::TestNetworks::test_connect_with_ipv6_address",
        "IPAM.Config.IPRange: not supported (a 400 naming it); and an address given at connect to a running container is not shown in its IPAMConfig",
    ),
    (
        "api_network_test.py::TestNetworks::test_connect_with_links",
        "EndpointConfig.Links: not supported (a 400 naming it)",
    ),
    (
        "api_network_test.py::TestNetworks::test_connect_with_mac_address",
        "EndpointConfig.MacAddress: not supported (a 400 naming it)",
    ),
    (
        "api_network_test.py::TestNetworks::test_create_check_duplicate",
        "network names are unique in hull: CheckDuplicate=false still gets a 409",
    ),
    ("api_network_test.py::TestNetworks::test_create_inspect_network_with_scope", SWARM),
    ("api_network_test.py::TestNetworks::test_create_network_attachable", SWARM),
    ("api_network_test.py::TestNetworks::test_create_network_ingress", SWARM),
    (
        "api_network_test.py::TestNetworks::test_create_network_ipv6_enabled",
        "IPAM.Config.IPRange: not supported (a 400 naming it); EnableIPv6 itself is",
    ),
    (
        "api_network_test.py::TestNetworks::test_create_network_with_ipam_config",
        "IPAM.Config.IPRange: not supported (a 400 naming it)",
    ),
    (
        "api_network_test.py::TestNetworks::test_create_remove_network_with_space_in_name",
        "hull's network names are [a-zA-Z0-9_.-] (a bridge and nft names are made from them)",
    ),
    (
        "api_network_test.py::TestNetworks::test_create_with_driveropt",
        "an endpoint's DriverOpts are not kept or shown",
    ),
    (
        "api_network_test.py::TestNetworks::test_create_with_ipv4_address",
        "a subnet overlapping another network's is refused (409); dockerd allows a given one",
    ),
    (
        "api_network_test.py::TestNetworks::test_create_with_linklocal_ips",
        "an endpoint's IPAMConfig (link-local IPs) is not kept or shown",
    ),
    (
        "api_network_test.py::TestNetworks::test_create_with_links",
        "an endpoint's Links are not shown",
    ),
    (
        "api_volume_test.py::TestVolumes::test_create_volume_invalid_driver",
        "an unknown volume driver is a 400 (only \"local\"); dockerd answers 404 (no such plugin)",
    ),
    (
        "errors_test.py::ErrorsTest::test_api_error_parses_json",
        "removing a running container is refused in docker 25+'s words, not 20.10's \"You cannot remove a running container\"",
    ),
    (
        "models_containers_test.py::ContainerCollectionTest::test_run_with_network",
        "an exited container's NetworkSettings.Networks is empty; dockerd keeps its networks' names",
    ),
    (
        "models_containers_test.py::ContainerTest::test_create_with_volume_driver",
        "HostConfig.VolumeDriver: not supported (a 400 naming it)",
    ),
    (
        "models_containers_test.py::ContainerTest::test_exec_run_failed",
        "exec of a missing command exits 127 (the runtime's code); dockerd answers 126",
    ),
    (
        "models_images_test.py::ImageCollectionTest::test_load_error",
        "a load of a broken archive is a 500, not an error in the load stream (the SDK's ImageLoadError)",
    ),
    (
        "models_images_test.py::ImageCollectionTest::test_save_and_load",
        "an image saved by id carries its tags in hull's archive, so load reports one image per tag",
    ),
];

/// Known differences not run on hull: they wait for pytest's timeout (45 s each). Whole
/// node ids: pytest's --deselect also drops every test whose id this is a prefix of.
const HANGS: &[&str] =
    &["api_container_test.py::CreateContainerTest::test_create_with_restart_policy"];

const COMMITTED: &str =
    "image inspect lacks Container and ContainerConfig (what an image was committed from)";
const SWARM: &str = "the test creates a swarm network: hull has no swarm mode";

static SERVICE: OnceLock<Service> = OnceLock::new();

fn service() -> &'static Service {
    SERVICE.get_or_init(|| {
        let s = Service::start();
        on_exit(|| SERVICE.get().map(Service::teardown).unwrap_or_default());
        s
    })
}

/// target/pysdk, where scripts/deps.sh put the venv and the sdist's tests.
fn pysdk() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/pysdk");
    let ok = dir.join(format!("ok-{SDK}"));
    assert!(
        ok.exists(),
        "{} is missing: run scripts/deps.sh (it installs docker-py {SDK} and pytest from PyPI)",
        ok.display()
    );
    dir
}

/// The suite's image: busybox with what of alpine 3.10 the tests use (its `postgres` user,
/// /var/opt) and alpine's command; as a docker-archive named TAGS[0].
fn alpine_like(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let root = rootfs(dir);
    std::fs::write(
        root.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/ash\ndaemon:x:2:2:daemon:/sbin:/sbin/nologin\n\
         postgres:x:70:70::/var/lib/postgresql:/bin/sh\n\
         nobody:x:65534:65534:nobody:/:/sbin/nologin\n",
    )
    .unwrap();
    std::fs::write(
        root.join("etc/group"),
        "root:x:0:root\ndaemon:x:2:root,bin,daemon\npostgres:x:70:\nnogroup:x:65533:\n\
         nobody:x:65534:\n",
    )
    .unwrap();
    std::fs::create_dir_all(root.join("var/opt")).unwrap();
    let config = serde_json::json!({
        "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        "Cmd": ["/bin/sh"],
    });
    image_archive(dir, TAGS[0], &root, config)
}

/// The docker CLI on `sock`.
fn docker(sock: &Path, args: &[&str]) -> Command {
    let mut c = Command::new("/usr/bin/docker");
    c.arg("-H")
        .arg(format!("unix://{}", sock.display()))
        .env("DOCKER_CONFIG", sock.with_extension("client"))
        .args(args);
    c
}

/// Each test's outcome (`PASSED`, `FAILED`, `ERROR`, `SKIPPED`, `XFAIL`, `XPASS`) by node
/// id, from pytest's `-rA` summary; and the whole output.
fn suite(sdk: &Path, sock: &Path, log: &Path, skip: &[&str]) -> (BTreeMap<String, String>, String) {
    let src = sdk.join(format!("docker-{SDK}"));
    let mut cmd = Command::new(sdk.join("venv/bin/python"));
    cmd.current_dir(&src)
        .env("DOCKER_HOST", format!("unix://{}", sock.display()))
        .env_remove("DOCKER_API_VERSION")
        // The suite's tests ask for this version (docker 20.10's) on both engines.
        .env("DOCKER_TEST_API_VERSION", "1.41")
        .env_remove("DOCKER_TLS_VERIFY")
        .env_remove("DOCKER_CERT_PATH")
        .env("DOCKER_CONFIG", log.with_extension("config"))
        .args(["-m", "pytest", "-p", "no:cacheprovider", "-q", "-rA"])
        .args(["--timeout", "45", "tests/integration"]);
    for (what, _) in EXCLUDED {
        if what.contains("::") {
            cmd.arg("--deselect")
                .arg(format!("tests/integration/{what}"));
        } else {
            cmd.arg("--ignore").arg(format!("tests/integration/{what}"));
        }
    }
    for id in skip {
        cmd.arg("--deselect").arg(format!("tests/integration/{id}"));
    }
    let o = output_via_files(&mut cmd);
    let out = format!("{}{}", text(&o.stdout), text(&o.stderr));
    std::fs::write(log, &out).unwrap();
    let mut results = BTreeMap::new();
    for line in out.lines() {
        let Some((outcome, rest)) = line.split_once(' ') else {
            continue;
        };
        if !["PASSED", "FAILED", "ERROR", "SKIPPED", "XFAIL", "XPASS"].contains(&outcome) {
            continue;
        }
        let Some(id) = rest.strip_prefix("tests/integration/") else {
            continue;
        };
        let id = id.split(" - ").next().unwrap_or(id).trim();
        // An error in teardown after a pass is still a failure of that test.
        let e = results.entry(id.to_string()).or_insert(outcome.to_string());
        if outcome == "ERROR" || outcome == "FAILED" {
            *e = outcome.to_string();
        }
    }
    assert!(
        results.len() > 100,
        "pytest ran too few tests against {}:\n{out}",
        sock.display()
    );
    (results, out)
}

fn passed(r: &BTreeMap<String, String>) -> usize {
    r.values().filter(|o| *o == "PASSED").count()
}

#[test]
fn the_sdk_suite_passes_on_hull_wherever_it_passes_on_dockerd() {
    let sdk = pysdk();
    let p = pair();
    let s = service();
    let dockerd = p.dir.join("d.sock");
    let hull = s.socket();
    // One archive, loaded into both.
    let archive = alpine_like(&p.dir.join("sdk-image"));
    for sock in [&dockerd, &hull] {
        ok_output(docker(sock, &["load", "-i", archive.to_str().unwrap()]));
        for t in &TAGS[1..] {
            ok_output(docker(sock, &["tag", TAGS[0], t]));
        }
    }
    std::fs::remove_dir_all(p.dir.join("sdk-image")).unwrap();

    // Both at once: the suite takes minutes on each.
    // Kept after the run (both engines' directories go at exit).
    let logs = [sdk.join("last-dockerd.log"), sdk.join("last-hull.log")];
    let (d, h) = std::thread::scope(|sc| {
        let d = sc.spawn(|| suite(&sdk, &dockerd, &logs[0], &[]));
        // The known differences that wait for the per-test timeout are not run on hull.
        let (sdk, hull, log) = (&sdk, &hull, &logs[1]);
        let h = sc.spawn(move || suite(sdk, hull, log, HANGS));
        (d.join().unwrap(), h.join().unwrap())
    });
    let ((d, _), (h, hull_out)) = (d, h);
    println!(
        "docker-py {SDK} integration suite: dockerd 20.10 passed {} of {} run, hull passed {} \
         of {} run ({} known differences not run on hull)",
        passed(&d),
        d.len(),
        passed(&h),
        h.len(),
        HANGS.len()
    );
    let known: BTreeMap<&str, &str> = DIFFERENCES.iter().copied().collect();
    let mut fails = Vec::new();
    for (id, outcome) in &d {
        if outcome != "PASSED" {
            continue;
        }
        let on_hull = h.get(id).map(String::as_str).unwrap_or("not run");
        if on_hull == "PASSED" {
            continue;
        }
        match known.get(id.as_str()) {
            Some(why) => println!("known difference: {id} ({on_hull} on hull): {why}"),
            None => fails.push(format!("{id}: {on_hull} on hull")),
        }
    }
    let failures: Vec<&str> = hull_out
        .lines()
        .filter(|l| l.starts_with("FAILED") || l.starts_with("ERROR"))
        .collect();
    assert!(
        fails.is_empty(),
        "SDK tests that pass against dockerd and not against hull:\n  {}\n\nhull's failures:\n{}\n(logs: {} and {})",
        fails.join("\n  "),
        failures.join("\n"),
        logs[0].display(),
        logs[1].display()
    );
}
