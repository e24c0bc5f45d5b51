//! Running the `trellis` binary itself: commands, and `trellis serve`
//! processes that end with the test, however it ends.

// Each test binary compiles this module and uses its own part of it.
#![allow(dead_code)]

use reqwest::StatusCode;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// The admin token every server started here accepts.
pub const ADMIN: &str = "trl_cli_test_admin";

/// The `trellis` command, with no database from the environment.
pub fn trellis() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_trellis"));
    cmd.env_remove("DATABASE_URL").env("RUST_LOG", "warn");
    cmd
}

/// A `trellis serve` process and the address it listens on. Dropping it
/// kills the process, so a failing test leaves no server behind.
pub struct Server {
    child: Child,
    pub base: String,
    http: reqwest::Client,
}

impl Server {
    /// Starts `trellis serve` on a free port and waits until it listens.
    pub fn start(db_url: &str, extra: &[&str]) -> Server {
        Server::start_with_env(db_url, extra, &[])
    }

    /// As [`Server::start`], with more environment (secrets, say).
    pub fn start_with_env(db_url: &str, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let mut child = trellis()
            .args(["serve", "--listen", "127.0.0.1:0", "--db", db_url])
            .args(extra)
            .envs(env.iter().copied())
            .env("TRELLIS_ADMIN_TOKEN", ADMIN)
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn trellis serve");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        while !line.contains("http://") {
            line.clear();
            assert!(
                stdout.read_line(&mut line).expect("read stdout") > 0,
                "trellis serve exited before listening"
            );
        }
        // Keep draining, so later output never meets a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        Server {
            child,
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
        }
    }

    /// SIGKILL: no shutdown code runs at all.
    pub fn kill_hard(mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("reap");
    }

    /// Posts `body` as the admin; returns status and JSON.
    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let request = self.http.post(format!("{}{path}", self.base)).json(&body);
        answer(request).await
    }

    /// Gets `path` as the admin; returns status and JSON.
    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        answer(self.http.get(format!("{}{path}", self.base))).await
    }
}

async fn answer(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let response = request.bearer_auth(ADMIN).send().await.expect("request");
    (
        response.status(),
        response.json().await.unwrap_or(Value::Null),
    )
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
