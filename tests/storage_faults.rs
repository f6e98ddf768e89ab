//! Real storage faults under a running service, on a small ext4 file system of its own (a loop
//! device): the disk filled to ENOSPC, then the file system turned read-only by an ext4 error.
//! Each time the service stops rather than answer busy forever, nothing it acknowledged is lost,
//! nothing answered busy is stored, and it starts again once the disk allows.
//!
//! Needs root, loop devices and e2fsprogs (`deploy/install-deps.sh`); it fails, saying so, where
//! they are missing. `bash deploy/storage-faults.sh` runs it alone.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use oversight::client::Client;
use proto_schema::Receipt;

use crate::harness::{ae_return, nats, serving_client, Service};

/// An ext4 image mounted on a loop device; unmounted on drop.
struct LoopFs {
    image: PathBuf,
    mount: PathBuf,
}

fn run(program: &str, args: &[&str]) {
    let status = Command::new(program)
        .args(args)
        .status()
        .unwrap_or_else(|e| panic!("{program}: {e} (install e2fsprogs and mount; run as root)"));
    assert!(status.success(), "{program} {args:?}: {status}");
}

impl LoopFs {
    fn new(dir: &Path, megabytes: u64) -> LoopFs {
        let image = dir.join("fs.img");
        let mount = dir.join("mnt");
        std::fs::create_dir_all(&mount).expect("mount point");
        std::fs::File::create(&image)
            .and_then(|f| f.set_len(megabytes * 1024 * 1024))
            .expect("image");
        run("mkfs.ext4", &["-q", "-F", image.to_str().expect("path")]);
        let fs = LoopFs { image, mount };
        fs.mount();
        fs
    }

    fn mount(&self) {
        run(
            "mount",
            &[
                "-o",
                "loop,errors=remount-ro",
                self.image.to_str().expect("path"),
                self.mount.to_str().expect("path"),
            ],
        );
    }

    /// Makes ext4 record an error, which turns it read-only (errors=remount-ro).
    fn fail(&self) {
        let out = Command::new("findmnt")
            .args(["-n", "-o", "SOURCE"])
            .arg(&self.mount)
            .output()
            .expect("findmnt");
        let device = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let name = Path::new(&device).file_name().expect("a device").to_owned();
        let trigger = Path::new("/sys/fs/ext4")
            .join(name)
            .join("trigger_fs_error");
        std::fs::write(&trigger, "oversight storage fault test").expect("trigger an ext4 error");
    }

    /// Unmounts, checks and mounts again, as an operator would after the error.
    fn repair(&self) {
        run("umount", &[self.mount.to_str().expect("path")]);
        let _ = Command::new("e2fsck")
            .args(["-fy", self.image.to_str().expect("path")])
            .status();
        self.mount();
    }
}

impl Drop for LoopFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.mount).status();
    }
}

/// Submits returns until one is not accepted or the service goes; the accepted, by seq.
async fn submit_until_refused(client: &Client, tag: &str) -> BTreeMap<u64, String> {
    let mut accepted = BTreeMap::new();
    for i in 0..200_000u32 {
        let id = format!("{tag}-{i}");
        let period = format!("{}-{:02}", 2000 + i / 12 % 25, i % 12 + 1);
        match client.submit(&ae_return(&id, &period, 1_000)).await {
            Ok(Receipt::Accepted { seq, .. }) => {
                accepted.insert(seq, id);
            }
            _ => break,
        }
    }
    accepted
}

fn wait_for_exit(service: &mut Service) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Some(status) = service.exited() {
            return status.code().unwrap_or(-1);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the service did not stop within 30 s of its storage failing");
}

async fn assert_holds(client: &Client, accepted: &BTreeMap<u64, String>) {
    for (seq, id) in accepted {
        let page = client.read_log(*seq, 1).await.expect("log");
        let entry = page.entries.first().expect("the accepted entry");
        match &entry.event {
            proto_schema::Event::ReturnSubmitted(s) => {
                assert_eq!(&s.ret.submission_id, id, "seq {seq}")
            }
            other => panic!("seq {seq}: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_or_read_only_disk_stops_the_service_and_loses_nothing_acknowledged() {
    let nats = nats();
    let tmp = tempfile::tempdir().expect("tempdir");
    let fs = LoopFs::new(tmp.path(), 96);
    // The mount point itself, so the service's own log (beside it, `mnt.log`) is not on the disk
    // being filled.
    let data = fs.mount.clone();
    let serve_log = tmp.path().join("mnt.log");
    let config = tmp.path().join("oversight.toml");
    std::fs::write(&config, "version = 1\n[data]\nmin_free_bytes = 1048576\n").expect("config");
    let args = ["--config", config.to_str().expect("path")];

    // 1. The disk fills.
    let mut service = Service::start_with(&nats.url(), &data, &args, "warn");
    let client = serving_client(&nats.url(), Duration::from_secs(10)).await;
    let free = nix::sys::statvfs::statvfs(&fs.mount).expect("statvfs");
    let filler = fs.mount.join("filler");
    let leave = 1024 * 1024;
    let fill = (free.blocks_available() as u64 * free.fragment_size() as u64).saturating_sub(leave);
    std::fs::File::create(&filler)
        .and_then(|f| f.set_len(fill).map(|()| f))
        .and_then(|f| {
            use std::io::Write;
            let mut f = f;
            // Written, not sparse, so the space is really taken.
            let block = vec![0u8; 1 << 20];
            for _ in 0..fill / (1 << 20) {
                f.write_all(&block)?;
            }
            f.sync_all()
        })
        .expect("filler");
    let mut accepted = submit_until_refused(&client, "full").await;
    assert!(
        !accepted.is_empty(),
        "some returns fitted before the disk filled"
    );
    assert_eq!(
        wait_for_exit(&mut service),
        6,
        "it stopped to be restarted: {}",
        std::fs::read_to_string(&serve_log).unwrap_or_default()
    );
    std::fs::remove_file(&filler).expect("space freed");
    let mut service = Service::start_with(&nats.url(), &data, &args, "warn");
    let client = serving_client(&nats.url(), Duration::from_secs(10)).await;
    assert_holds(&client, &accepted).await;
    let more = submit_until_refused_n(&client, "after-full", 20).await;
    assert_eq!(more.len(), 20, "it takes returns again once space is freed");
    accepted.extend(more);

    // 2. The file system turns read-only under it.
    fs.fail();
    let refused = submit_until_refused(&client, "read-only").await;
    assert!(
        refused.is_empty(),
        "nothing is accepted on a read-only disk: {refused:?}"
    );
    assert_eq!(
        wait_for_exit(&mut service),
        6,
        "{}",
        std::fs::read_to_string(&serve_log).unwrap_or_default()
    );
    drop(client);
    fs.repair();
    let _service = Service::start_with(&nats.url(), &data, &args, "warn");
    let client = serving_client(&nats.url(), Duration::from_secs(10)).await;
    assert_holds(&client, &accepted).await;
    let last = client.read_log(u64::MAX, 0).await.expect("log").last_seq;
    assert_eq!(
        accepted.keys().last().copied(),
        Some(last),
        "nothing stored after the last acknowledged return"
    );
}

async fn submit_until_refused_n(client: &Client, tag: &str, n: u32) -> BTreeMap<u64, String> {
    let mut accepted = BTreeMap::new();
    for i in 0..n {
        let id = format!("{tag}-{i}");
        let period = format!("{}-{:02}", 2000 + i / 12, i % 12 + 1);
        if let Ok(Receipt::Accepted { seq, .. }) =
            client.submit(&ae_return(&id, &period, 1_000)).await
        {
            accepted.insert(seq, id);
        }
    }
    accepted
}
