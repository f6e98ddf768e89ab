//! Each class of outcome of a command has its own exit status (the README's table), so a script
//! that retries on 2 retries only what may succeed later.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::harness::{data_dir, free_loopback_addr, nats, serving_client, Service};

/// Runs `oversight ARGS` to its exit: its status and stderr.
pub fn oversight(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_oversight"))
        .args(args)
        .output()
        .expect("run oversight");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_class_of_outcome_has_its_own_exit_status() {
    let nats = nats();
    let tmp = tempfile::tempdir().expect("tempdir");
    let _service = Service::start(&nats.url(), &data_dir(tmp.path()));
    serving_client(&nats.url(), Duration::from_secs(5)).await;
    let url = nats.url();
    let nowhere = format!("nats://{}", free_loopback_addr());
    let submit = |url: &str, value: &str| {
        oversight(&[
            "submit",
            "--nats",
            url,
            "--timeout",
            "2",
            "--org",
            "RJ1",
            "--collection",
            "ae-monthly",
            "--period",
            "2019-01",
            "--value",
            value,
        ])
    };
    let missing_file = tmp.path().join("no-such-return.json");
    let not_a_layout = tmp.path().join("notes.csv");
    std::fs::write(&not_a_layout, "a,b\n1,2\n").expect("write");
    let cases: Vec<(&str, (i32, String), i32, &str)> = vec![
        ("accepted", submit(&url, "ae_12hr_dta=3"), 0, ""),
        ("accepted again", submit(&url, "ae_12hr_dta=3"), 0, ""),
        ("rejected", submit(&url, "ae_4hour=3"), 1, ""),
        (
            "out of reach",
            submit(&nowhere, "ae_12hr_dta=3"),
            2,
            "cannot connect",
        ),
        (
            "a figure that does not parse",
            submit(&url, "ae_12hr_dta=three"),
            3,
            "the figure must be",
        ),
        (
            "a ratio finer than a half",
            submit(&url, "ae_4hr=20.25/30"),
            3,
            "not a whole number or a half",
        ),
        (
            "a flag missing",
            oversight(&["submit", "--nats", &url, "--org", "RJ1"]),
            3,
            "required",
        ),
        (
            "a file that is not there",
            oversight(&[
                "submit",
                "--nats",
                &url,
                "--file",
                &missing_file.display().to_string(),
            ]),
            4,
            "cannot read",
        ),
        (
            "a file of no layout it reads",
            oversight(&[
                "import",
                "ae",
                "--nats",
                &url,
                &not_a_layout.display().to_string(),
            ]),
            4,
            "",
        ),
        (
            "a scope that does not exist",
            oversight(&["watch", "--nats", &url, "NOWHERE", "--once"]),
            3,
            "NOWHERE",
        ),
    ];
    for (what, (code, stderr), expected, says) in cases {
        assert_eq!(code, expected, "{what}: {stderr}");
        assert!(stderr.contains(says), "{what}: {stderr}");
    }

    // Codes typed in lower case are read as the ODS codes they are.
    let (code, stderr) = oversight(&[
        "submit",
        "--nats",
        &url,
        "--org",
        "rj1",
        "--collection",
        "ae-monthly",
        "--period",
        "2019-02",
        "--value",
        "ae_12hr_dta=1",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let out = Command::new(env!("CARGO_BIN_EXE_oversight"))
        .args(["watch", "--nats", &url, "y56", "--once"])
        .output()
        .expect("watch");
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("Y56 (as reported)"));

    // A reader that goes away (`watch ... | head`) ends the watch quietly.
    let mut watch = Command::new(env!("CARGO_BIN_EXE_oversight"))
        .args(["watch", "--nats", &url, "national", "--once"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("watch");
    drop(watch.stdout.take());
    let out = watch.wait_with_output().expect("watch ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
}
