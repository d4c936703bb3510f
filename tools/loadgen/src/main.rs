//! Switchboard's benchmark harness (see BENCHMARKS.md; `scripts/bench` runs it).
//!
//! Starts the release `switchboard serve` on a fresh data directory as a child process, seeds it
//! through the public API (users, password-grant tokens, chats), measures the HTTP ceiling (the
//! hidden `switchboard bench-ceiling`: axum + tokio answering a fixed 1 KB JSON) and then each
//! scenario at each connection count for a fixed time, bounded in time and count, over loopback
//! only. For every run it prints requests/s, p50/p99/p99.9, errors, the server's CPU (from
//! /proc/<pid>/stat), its peak RSS (VmHWM, reset before each run through /proc/<pid>/clear_refs),
//! the harness's own CPU per request (utime+stime of /proc/self/stat, what getrusage reports) and
//! the ratio to the ceiling; the whole run is written as JSON.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

/// Requests one connection makes in one run at most (runs are also bounded in time).
const MAX_PER_CONNECTION: u64 = 2_000_000;
/// Users created through the API (one per connection at 64 connections, plus one shared member).
const USERS: usize = 64;
const PASSWORD: &str = "Bench-Passw0rd!x";

#[derive(Parser)]
#[command(
    name = "switchboard-loadgen",
    about = "Switchboard's benchmark harness"
)]
struct Args {
    /// The switchboard binary (a release build).
    #[arg(long, default_value = "target/release/switchboard")]
    bin: PathBuf,
    /// Seconds per run.
    #[arg(long, default_value_t = 5.0)]
    secs: f64,
    /// Connection counts.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    conns: Vec<usize>,
    /// Where results.json, the data directories and the server logs go.
    #[arg(long, default_value = "target/bench")]
    out: PathBuf,
    /// Users in the directory for the $filter scenario (seeded with the hidden `bench-seed`).
    #[arg(long, default_value_t = 100_000)]
    directory_users: usize,
    /// Messages stored before the scale runs (0: skip them).
    #[arg(long, default_value_t = 1_000_000)]
    scale_messages: usize,
    /// Connections sending in the background of the list scenario.
    #[arg(long, default_value_t = 16)]
    background_senders: usize,
    /// Smoke mode (CI): 1 s runs at 2 connections, small seeds; checks the harness works.
    #[arg(long)]
    smoke: bool,
    /// Run only the scenarios whose name contains this (the ceiling always runs).
    #[arg(long)]
    only: Option<String>,
}

// ------------------------------------------------------------------------------------------
// A minimal HTTP/1.1 client: one keep-alive connection per worker.
// ------------------------------------------------------------------------------------------

struct Conn {
    addr: SocketAddr,
    sender: Option<http1::SendRequest<Full<Bytes>>>,
}

#[derive(Clone)]
struct Req {
    method: hyper::Method,
    path: String,
    token: Option<Arc<str>>,
    form: bool,
    body: Bytes,
}

impl Req {
    fn get(path: impl Into<String>, token: Option<Arc<str>>) -> Req {
        Req {
            method: hyper::Method::GET,
            path: path.into(),
            token,
            form: false,
            body: Bytes::new(),
        }
    }
    fn post(path: impl Into<String>, token: Option<Arc<str>>, body: &Value) -> Req {
        Req {
            method: hyper::Method::POST,
            path: path.into(),
            token,
            form: false,
            body: Bytes::from(body.to_string()),
        }
    }
    fn form(path: impl Into<String>, fields: &[(&str, &str)]) -> Req {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        Req {
            method: hyper::Method::POST,
            path: path.into(),
            token: None,
            form: true,
            body: Bytes::from(body),
        }
    }
}

impl Conn {
    fn new(addr: SocketAddr) -> Conn {
        Conn { addr, sender: None }
    }

    async fn connect(&mut self) -> anyhow::Result<()> {
        let stream = tokio::net::TcpStream::connect(self.addr).await?;
        stream.set_nodelay(true)?;
        let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        self.sender = Some(sender);
        Ok(())
    }

    async fn send(&mut self, req: &Req) -> anyhow::Result<(u16, Bytes)> {
        if self.sender.as_ref().is_none_or(|s| s.is_closed()) {
            self.connect().await?;
        }
        let sender = self.sender.as_mut().context("not connected")?;
        let mut b = hyper::Request::builder()
            .method(req.method.clone())
            .uri(&req.path)
            .header("host", self.addr.to_string());
        if let Some(t) = &req.token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        if req.method == hyper::Method::POST {
            b = b.header(
                "content-type",
                if req.form {
                    "application/x-www-form-urlencoded"
                } else {
                    "application/json"
                },
            );
        }
        let request = b.body(Full::new(req.body.clone()))?;
        let result = async {
            sender.ready().await?;
            let response = sender.send_request(request).await?;
            let status = response.status().as_u16();
            let body = response.into_body().collect().await?.to_bytes();
            anyhow::Ok((status, body))
        }
        .await;
        if result.is_err() {
            self.sender = None;
        }
        result
    }

    /// A request whose answer must be 2xx JSON.
    async fn json(&mut self, req: &Req) -> anyhow::Result<Value> {
        let (status, body) = self.send(req).await?;
        if !(200..300).contains(&status) {
            bail!(
                "{} {} answered {status}: {}",
                req.method,
                req.path,
                String::from_utf8_lossy(&body)
            );
        }
        if body.is_empty() {
            return Ok(Value::Null);
        }
        Ok(serde_json::from_slice(&body)?)
    }
}

fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

// ------------------------------------------------------------------------------------------
// Processes: the server under test, its CPU and memory, and ours.
// ------------------------------------------------------------------------------------------

struct Proc {
    child: Child,
    addr: SocketAddr,
}

impl Proc {
    fn start(bin: &Path, args: &[&str], addr: SocketAddr, log: &Path) -> anyhow::Result<Proc> {
        let log = std::fs::File::create(log)?;
        let child = Command::new(bin)
            .args(args)
            .env("SWITCHBOARD_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        Ok(Proc { child, addr })
    }

    /// Waits until the server answers an HTTP request; returns how long since `since`.
    async fn ready(&mut self, since: Instant) -> anyhow::Result<Duration> {
        let deadline = since + Duration::from_secs(120);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                bail!("the server exited during start-up ({status})");
            }
            let mut c = Conn::new(self.addr);
            if c.send(&Req::get("/", None)).await.is_ok() {
                return Ok(since.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        bail!("the server did not answer within 120 s")
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Graceful stop (SIGTERM), bounded; SIGKILL after 60 s.
    fn stop(mut self) -> anyhow::Result<()> {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }
}

/// utime + stime of a process, in seconds (clock ticks of 1/100 s, Linux's USER_HZ).
fn cpu_secs(pid: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command name (which may contain spaces) start at state (field 3).
    let after = stat.rsplit_once(')').map(|(_, a)| a).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn status_kb(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Resets VmHWM to the current RSS, so each run reports its own peak.
fn reset_peak(pid: u32) {
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
}

// ------------------------------------------------------------------------------------------
// Load runs.
// ------------------------------------------------------------------------------------------

type MakeReq = Arc<dyn Fn(usize, u64) -> Req + Send + Sync>;

struct Load {
    ok: u64,
    errors: u64,
    first_error: Option<String>,
    hist: Histogram<u64>,
    elapsed: f64,
}

/// `conns` workers, each on its own connection, for `secs` (and at most MAX_PER_CONNECTION
/// requests each); a non-2xx answer or a transport error counts as an error.
async fn drive(addr: SocketAddr, conns: usize, secs: f64, make: MakeReq) -> Load {
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(secs);
    let mut tasks = Vec::new();
    for w in 0..conns {
        let make = make.clone();
        tasks.push(tokio::spawn(async move {
            let mut hist = Histogram::<u64>::new_with_bounds(1, 120_000_000, 3).expect("histogram");
            let (mut ok, mut errors, mut first_error) = (0u64, 0u64, None);
            let mut conn = Conn::new(addr);
            let mut i = 0;
            while i < MAX_PER_CONNECTION && Instant::now() < deadline {
                let req = make(w, i);
                i += 1;
                let t = Instant::now();
                match conn.send(&req).await {
                    Ok((status, body)) if (200..300).contains(&status) => {
                        ok += 1;
                        let _ = hist.record(t.elapsed().as_micros() as u64);
                        drop(body);
                    }
                    Ok((status, body)) => {
                        errors += 1;
                        first_error.get_or_insert_with(|| {
                            format!(
                                "{status}: {}",
                                String::from_utf8_lossy(&body[..body.len().min(300)])
                            )
                        });
                    }
                    Err(e) => {
                        errors += 1;
                        first_error.get_or_insert_with(|| e.to_string());
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
            (ok, errors, first_error, hist)
        }));
    }
    let mut load = Load {
        ok: 0,
        errors: 0,
        first_error: None,
        hist: Histogram::new_with_bounds(1, 120_000_000, 3).expect("histogram"),
        elapsed: 0.0,
    };
    for t in tasks {
        if let Ok((ok, errors, first_error, hist)) = t.await {
            load.ok += ok;
            load.errors += errors;
            if load.first_error.is_none() {
                load.first_error = first_error;
            }
            let _ = load.hist.add(hist);
        }
    }
    load.elapsed = start.elapsed().as_secs_f64();
    load
}

struct Bench {
    args: Args,
    results: Vec<Value>,
    ceiling: std::collections::HashMap<usize, f64>,
}

impl Bench {
    /// One run: the load, with the server's CPU and peak RSS and our own CPU around it.
    async fn run(
        &mut self,
        scenario: &str,
        server: &Proc,
        conns: usize,
        make: MakeReq,
        background: Option<(usize, MakeReq)>,
    ) -> Value {
        if let Some(only) = &self.args.only
            && !scenario.contains(only.as_str())
            && !scenario.starts_with("http_ceiling")
        {
            return json!({ "requests_per_sec": 0.0 });
        }
        let pid = server.pid();
        reset_peak(pid);
        let (server_cpu0, own_cpu0) = (cpu_secs(&pid.to_string()), cpu_secs("self"));
        let bg = background.map(|(n, make)| {
            let (addr, secs) = (server.addr, self.args.secs);
            tokio::spawn(async move { drive(addr, n, secs, make).await })
        });
        let load = drive(server.addr, conns, self.args.secs, make).await;
        let bg = match bg {
            Some(t) => t.await.ok(),
            None => None,
        };
        let (server_cpu, own_cpu) = (
            cpu_secs(&pid.to_string()) - server_cpu0,
            cpu_secs("self") - own_cpu0,
        );
        let requests = load.ok + load.errors + bg.as_ref().map_or(0, |b| b.ok + b.errors);
        let rps = load.ok as f64 / load.elapsed;
        let ms = |q: f64| {
            if load.hist.is_empty() {
                0.0
            } else {
                load.hist.value_at_quantile(q) as f64 / 1000.0
            }
        };
        let ceiling = self.ceiling.get(&conns).copied();
        let mut r = json!({
            "scenario": scenario,
            "connections": conns,
            "seconds": round(load.elapsed, 2),
            "requests": load.ok,
            "requests_per_sec": round(rps, 0),
            "p50_ms": ms(0.5),
            "p99_ms": ms(0.99),
            "p999_ms": ms(0.999),
            "max_ms": load.hist.max() as f64 / 1000.0,
            "errors": load.errors,
            "server_cpu_cores": round(server_cpu / load.elapsed, 2),
            "server_cpu_us_per_request": if requests > 0 { round(server_cpu * 1e6 / requests as f64, 1) } else { 0.0 },
            "server_peak_rss_mb": round(status_kb(pid, "VmHWM:") as f64 / 1024.0, 1),
            "client_cpu_us_per_request": if requests > 0 { round(own_cpu * 1e6 / requests as f64, 1) } else { 0.0 },
            "ratio_to_ceiling": ceiling.map(|c| round(rps / c, 4)),
        });
        if let Some(e) = &load.first_error {
            r["first_error"] = json!(e);
        }
        if let Some(b) = bg {
            r["background_sends_per_sec"] = json!(round(b.ok as f64 / b.elapsed, 0));
            r["background_errors"] = json!(b.errors);
        }
        print_row(&r);
        self.results.push(r.clone());
        r
    }
}

fn round(v: f64, digits: i32) -> f64 {
    let p = 10f64.powi(digits);
    (v * p).round() / p
}

fn print_header() {
    println!(
        "{:<34} {:>5} {:>9} {:>8} {:>8} {:>8} {:>6} {:>6} {:>7} {:>7} {:>9} {:>7}",
        "scenario",
        "conns",
        "req/s",
        "p50 ms",
        "p99 ms",
        "p99.9",
        "errors",
        "srvCPU",
        "srv us",
        "RSS MB",
        "client us",
        "ceiling"
    );
}

fn print_row(r: &Value) {
    let f = |k: &str| r[k].as_f64().unwrap_or(0.0);
    let ratio = r["ratio_to_ceiling"]
        .as_f64()
        .map(|v| format!("{:.1}%", v * 100.0))
        .unwrap_or_else(|| "-".into());
    println!(
        "{:<34} {:>5} {:>9.0} {:>8.2} {:>8.2} {:>8.2} {:>6} {:>6.2} {:>7.1} {:>7.1} {:>9.1} {:>7}{}",
        r["scenario"].as_str().unwrap_or(""),
        r["connections"],
        f("requests_per_sec"),
        f("p50_ms"),
        f("p99_ms"),
        f("p999_ms"),
        r["errors"],
        f("server_cpu_cores"),
        f("server_cpu_us_per_request"),
        f("server_peak_rss_mb"),
        f("client_cpu_us_per_request"),
        ratio,
        r.get("background_sends_per_sec")
            .map(|b| format!("  (+{b} sends/s in background)"))
            .unwrap_or_default(),
    );
    if let Some(e) = r.get("first_error") {
        println!("    first error: {e}");
    }
}

fn free_addr() -> anyhow::Result<SocketAddr> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?)
}

fn shell(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

// ------------------------------------------------------------------------------------------
// Seeding through the public API.
// ------------------------------------------------------------------------------------------

struct World {
    admin_token: Arc<str>,
    token_path: String,
    client_id: String,
    client_secret: String,
    domain: String,
    users: Vec<(String, Arc<str>)>,
    /// One chat per user (the user and the shared member).
    chats: Vec<String>,
    /// One chat with every user.
    shared_chat: String,
}

async fn seed(addr: SocketAddr, data_dir: &Path) -> anyhow::Result<World> {
    let creds: Value = serde_json::from_str(&std::fs::read_to_string(
        data_dir.join("admin-credentials.json"),
    )?)?;
    let s = |k: &str| {
        creds[k]
            .as_str()
            .map(str::to_string)
            .with_context(|| format!("admin-credentials.json has no {k}"))
    };
    let (client_id, client_secret, domain) = (s("clientId")?, s("clientSecret")?, s("domain")?);
    let endpoint = s("tokenEndpoint")?;
    let token_path = format!(
        "/{}",
        endpoint.splitn(4, '/').nth(3).context("tokenEndpoint")?
    );
    let mut c = Conn::new(addr);
    let token = c
        .json(&Req::form(
            &token_path,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &client_id),
                ("client_secret", &client_secret),
                ("scope", "https://graph.microsoft.com/.default"),
            ],
        ))
        .await?;
    let admin_token: Arc<str> = token["access_token"]
        .as_str()
        .context("no access_token")?
        .into();
    // Users (and their password-grant tokens) in parallel: each costs an Argon2 hash.
    let mut tasks = Vec::new();
    for i in 0..=USERS {
        let (admin_token, token_path, client_id, client_secret, domain) = (
            admin_token.clone(),
            token_path.clone(),
            client_id.clone(),
            client_secret.clone(),
            domain.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut c = Conn::new(addr);
            let upn = format!("loaduser{i:02}@{domain}");
            let user = c
                .json(&Req::post(
                    "/v1.0/users",
                    Some(admin_token),
                    &json!({ "accountEnabled": true, "displayName": format!("Load User {i:02}"), "mailNickname": format!("loaduser{i:02}"),
                             "userPrincipalName": upn, "passwordProfile": { "forceChangePasswordNextSignIn": false, "password": PASSWORD } }),
                ))
                .await?;
            let token = c
                .json(&Req::form(
                    &token_path,
                    &[
                        ("grant_type", "password"),
                        ("client_id", &client_id),
                        ("client_secret", &client_secret),
                        ("username", &upn),
                        ("password", PASSWORD),
                        ("scope", "https://graph.microsoft.com/.default"),
                    ],
                ))
                .await?;
            let id = user["id"].as_str().context("user id")?.to_string();
            let token: Arc<str> = token["access_token"].as_str().context("no access_token")?.into();
            anyhow::Ok((id, token))
        }));
    }
    let mut users = Vec::new();
    for t in tasks {
        users.push(t.await??);
    }
    let member = |id: &str| {
        json!({ "@odata.type": "#microsoft.graph.aadUserConversationMember", "roles": ["owner"],
                "user@odata.bind": format!("https://graph.microsoft.com/v1.0/users('{id}')") })
    };
    let hub = users[USERS].0.clone();
    let mut chats = Vec::new();
    for (i, (id, token)) in users[..USERS].iter().enumerate() {
        let chat = c
            .json(&Req::post(
                "/v1.0/chats",
                Some(token.clone()),
                &json!({ "chatType": "group", "topic": format!("Load chat {i:02}"), "members": [member(id), member(&hub)] }),
            ))
            .await?;
        chats.push(chat["id"].as_str().context("chat id")?.to_string());
    }
    let everyone: Vec<Value> = users.iter().map(|(id, _)| member(id)).collect();
    let shared = c
        .json(&Req::post(
            "/v1.0/chats",
            Some(users[0].1.clone()),
            &json!({ "chatType": "group", "topic": "Everyone", "members": everyone }),
        ))
        .await?;
    let shared_chat = shared["id"].as_str().context("chat id")?.to_string();
    Ok(World {
        admin_token,
        token_path,
        client_id,
        client_secret,
        domain,
        users,
        chats,
        shared_chat,
    })
}

fn send_body(w: usize, i: u64) -> Value {
    json!({ "body": { "content": format!("Message {i} from connection {w}: the quick brown fox jumps over the lazy dog.") } })
}

fn send_many(world: &World) -> MakeReq {
    let targets: Vec<(String, Arc<str>)> = world
        .chats
        .iter()
        .zip(&world.users)
        .map(|(chat, (_, t))| (format!("/v1.0/chats/{chat}/messages"), t.clone()))
        .collect();
    Arc::new(move |w, i| {
        let (path, token) = &targets[w % targets.len()];
        Req::post(path.clone(), Some(token.clone()), &send_body(w, i))
    })
}

fn send_one(world: &World) -> MakeReq {
    let path = format!("/v1.0/chats/{}/messages", world.shared_chat);
    let tokens: Vec<Arc<str>> = world.users[..USERS]
        .iter()
        .map(|(_, t)| t.clone())
        .collect();
    Arc::new(move |w, i| {
        Req::post(
            path.clone(),
            Some(tokens[w % tokens.len()].clone()),
            &send_body(w, i),
        )
    })
}

/// Pages of 50 of each connection's own chat (the chats the background senders write to).
fn list_messages(world: &World) -> MakeReq {
    let targets: Vec<(String, Arc<str>)> = world
        .chats
        .iter()
        .zip(&world.users)
        .map(|(chat, (_, t))| (format!("/v1.0/chats/{chat}/messages?$top=50"), t.clone()))
        .collect();
    Arc::new(move |w, _| {
        let (path, token) = &targets[w % targets.len()];
        Req::get(path.clone(), Some(token.clone()))
    })
}

/// The background senders of the list scenario: into the same chats the readers page through.
fn background_sends(world: &World) -> MakeReq {
    send_many(world)
}

fn list_chats(world: &World) -> MakeReq {
    let tokens: Vec<Arc<str>> = world.users[..USERS]
        .iter()
        .map(|(_, t)| t.clone())
        .collect();
    Arc::new(move |w, _| {
        Req::get(
            "/v1.0/me/chats?$expand=lastMessagePreview",
            Some(tokens[w % tokens.len()].clone()),
        )
    })
}

fn users_filter(world: &World, directory: usize) -> MakeReq {
    let token = world.admin_token.clone();
    let prefixes = (directory / 100).max(1);
    Arc::new(move |w, i| {
        let p = format!(
            "Bench User {:04}",
            (w as u64 * 7919 + i * 31) % prefixes as u64
        );
        Req::get(
            format!(
                "/v1.0/users?$filter={}&$select=id,displayName,userPrincipalName",
                urlencode(&format!("startswith(displayName,'{p}')"))
            ),
            Some(token.clone()),
        )
    })
}

fn token_grant(world: &World) -> MakeReq {
    let req = Req::form(
        &world.token_path,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &world.client_id),
            ("client_secret", &world.client_secret),
            ("scope", "https://graph.microsoft.com/.default"),
        ],
    );
    Arc::new(move |_, _| req.clone())
}

fn recipients(world: &World, w: usize, n: usize) -> Vec<Value> {
    (0..n)
        .map(|k| json!({ "emailAddress": { "address": format!("loaduser{:02}@{}", (w + k + 1) % USERS, world.domain) } }))
        .collect()
}

fn create_draft(world: &World) -> MakeReq {
    let tokens: Vec<Arc<str>> = world.users[..USERS]
        .iter()
        .map(|(_, t)| t.clone())
        .collect();
    let to: Vec<Vec<Value>> = (0..USERS).map(|w| recipients(world, w, 1)).collect();
    Arc::new(move |w, i| {
        let body = json!({ "subject": format!("Draft {i}"), "body": { "contentType": "text", "content": "A draft from the benchmark." }, "toRecipients": to[w % USERS] });
        Req::post(
            "/v1.0/me/messages",
            Some(tokens[w % tokens.len()].clone()),
            &body,
        )
    })
}

fn send_mail(world: &World) -> MakeReq {
    let tokens: Vec<Arc<str>> = world.users[..USERS]
        .iter()
        .map(|(_, t)| t.clone())
        .collect();
    let to: Vec<Vec<Value>> = (0..USERS).map(|w| recipients(world, w, 3)).collect();
    Arc::new(move |w, i| {
        let body = json!({ "message": { "subject": format!("Mail {i}"), "body": { "contentType": "text", "content": "Mail from the benchmark." }, "toRecipients": to[w % USERS] }, "saveToSentItems": true });
        Req::post(
            "/v1.0/me/sendMail",
            Some(tokens[w % tokens.len()].clone()),
            &body,
        )
    })
}

/// Whether a route exists: one request; 2xx means available.
async fn probe(addr: SocketAddr, make: &MakeReq) -> Result<(), String> {
    let mut c = Conn::new(addr);
    match c.send(&make(0, 0)).await {
        Ok((s, _)) if (200..300).contains(&s) => Ok(()),
        Ok((s, body)) => Err(format!(
            "probe answered {s}: {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        )),
        Err(e) => Err(e.to_string()),
    }
}

// ------------------------------------------------------------------------------------------

fn main() -> anyhow::Result<()> {
    let mut args = Args::parse();
    if args.smoke {
        args.secs = args.secs.min(1.0);
        args.conns = vec![2];
        args.directory_users = args.directory_users.min(2_000);
        args.scale_messages = args.scale_messages.min(20_000);
        args.background_senders = args.background_senders.min(2);
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.bin.exists(),
        "{} not found (build it: cargo build --release -p switchboard)",
        args.bin.display()
    );
    std::fs::create_dir_all(&args.out)?;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let data_dir = args.out.join(format!("data-{stamp}"));
    let bin = args.bin.clone();
    let conns = args.conns.clone();
    let mut bench = Bench {
        args,
        results: Vec::new(),
        ceiling: Default::default(),
    };
    let mut notes: Vec<String> = Vec::new();

    println!(
        "Switchboard benchmark: {} s per run, connections {:?}, loopback",
        bench.args.secs, conns
    );
    println!(
        "machine: {} cores, {} MB RAM (shared; other builds may be running)",
        shell("nproc", &[]),
        status_mem_mb()
    );
    print_header();

    // The HTTP ceiling.
    let addr = free_addr()?;
    let listen = addr.to_string();
    let mut ceiling = Proc::start(
        &bin,
        &["bench-ceiling", "--listen", &listen],
        addr,
        &bench.args.out.join("ceiling.log"),
    )?;
    ceiling.ready(Instant::now()).await?;
    let body = Bytes::from(send_body(0, 0).to_string());
    for &n in &conns {
        let body = body.clone();
        let make: MakeReq = Arc::new(move |_, _| Req {
            method: hyper::Method::POST,
            path: "/ceiling".into(),
            token: None,
            form: false,
            body: body.clone(),
        });
        let r = bench
            .run("http_ceiling (1 KB JSON)", &ceiling, n, make, None)
            .await;
        bench
            .ceiling
            .insert(n, r["requests_per_sec"].as_f64().unwrap_or(0.0));
    }
    ceiling.stop()?;

    // The server, on a fresh data directory.
    let addr = free_addr()?;
    let listen = addr.to_string();
    let dd = data_dir.to_string_lossy().to_string();
    let serve_args = ["serve", "--listen", &listen, "--data-dir", &dd];
    let t = Instant::now();
    let mut server = Proc::start(&bin, &serve_args, addr, &bench.args.out.join("serve.log"))?;
    let fresh_start = server.ready(t).await?;
    let t = Instant::now();
    let world = seed(addr, &data_dir).await?;
    println!(
        "(fresh start answered in {} ms; {} users, {} chats and tokens created through the API in {:.1} s)",
        fresh_start.as_millis(),
        world.users.len(),
        world.chats.len() + 1,
        t.elapsed().as_secs_f64()
    );

    // Restart before measuring: creating users hashes their passwords (Argon2, 19 MB each, in
    // parallel above), and the allocator keeps that memory, which would hide the runs' own peaks.
    server.stop()?;
    let t = Instant::now();
    server = Proc::start(
        &bin,
        &serve_args,
        addr,
        &bench.args.out.join("serve-measured.log"),
    )?;
    let small_start = server.ready(t).await?;
    println!(
        "(restarted; serve answered {} ms after start)",
        small_start.as_millis()
    );

    let mut empty = std::collections::HashMap::new();
    for &n in &conns {
        let r = bench
            .run("send (N chats)", &server, n, send_many(&world), None)
            .await;
        empty.insert(("send", n), r);
    }
    for &n in &conns {
        bench
            .run("send (one chat)", &server, n, send_one(&world), None)
            .await;
    }
    let bg = bench.args.background_senders;
    for &n in &conns {
        let r = bench
            .run(
                "list 50 messages (+ sends)",
                &server,
                n,
                list_messages(&world),
                Some((bg, background_sends(&world))),
            )
            .await;
        empty.insert(("list", n), r);
    }
    for &n in &conns {
        bench
            .run(
                "list chats $expand=preview",
                &server,
                n,
                list_chats(&world),
                None,
            )
            .await;
    }
    for &n in &conns {
        bench
            .run(
                "token (client credentials)",
                &server,
                n,
                token_grant(&world),
                None,
            )
            .await;
    }
    // Mail: only where the routes exist in this build.
    for (name, make) in [
        ("mail: create draft", create_draft(&world)),
        ("mail: sendMail (3 recipients)", send_mail(&world)),
    ] {
        match probe(addr, &make).await {
            Ok(()) => {
                for &n in &conns {
                    bench.run(name, &server, n, make.clone(), None).await;
                }
            }
            Err(why) => {
                println!("{name:<34} not available ({why})");
                bench
                    .results
                    .push(json!({ "scenario": name, "available": false, "why": why }));
            }
        }
    }

    // The directory of 100 000 for $filter: seeded through the store's insert_users (hidden
    // `switchboard bench-seed --users`) while the server runs.
    let t = Instant::now();
    let users = bench.args.directory_users.to_string();
    run_tool(&bin, &["bench-seed", "--data-dir", &dd, "--users", &users])?;
    println!(
        "(seeded {users} directory users through insert_users in {:.1} s)",
        t.elapsed().as_secs_f64()
    );
    notes.push(format!(
        "directory users seeded through the store's insert_users in {:.1} s",
        t.elapsed().as_secs_f64()
    ));
    for &n in &conns {
        bench
            .run(
                &format!("users $filter startswith ({users})"),
                &server,
                n,
                users_filter(&world, bench.args.directory_users),
                None,
            )
            .await;
    }

    // Scale: the same sends and lists with a million messages stored.
    let mut scale = json!(null);
    if bench.args.scale_messages > 0 {
        server.stop()?;
        let count = bench.args.scale_messages.to_string();
        let mut seed_args: Vec<String> = ["bench-seed", "--data-dir", &dd, "--messages", &count]
            .iter()
            .map(|s| s.to_string())
            .collect();
        for (chat, (uid, _)) in world.chats.iter().zip(&world.users) {
            seed_args.push("--chat".into());
            seed_args.push(format!("{chat}={uid}"));
        }
        let t = Instant::now();
        run_tool(
            &bin,
            &seed_args.iter().map(String::as_str).collect::<Vec<_>>(),
        )?;
        let seeded = t.elapsed().as_secs_f64();
        let db_mb = std::fs::metadata(data_dir.join("switchboard.db"))
            .map(|m| m.len() as f64 / 1048576.0)
            .unwrap_or(0.0);
        let t = Instant::now();
        server = Proc::start(
            &bin,
            &serve_args,
            addr,
            &bench.args.out.join("serve-scale.log"),
        )?;
        let start_up = server.ready(t).await?;
        println!(
            "(stored {count} more messages through the store in {seeded:.1} s; database {db_mb:.0} MB; serve answered {} ms after start)",
            start_up.as_millis()
        );
        let mut ratios = Vec::new();
        for &n in &conns {
            let r = bench
                .run(
                    &format!("send (N chats) @{count} stored"),
                    &server,
                    n,
                    send_many(&world),
                    None,
                )
                .await;
            ratios.push(json!({ "scenario": "send", "connections": n,
                "throughput_ratio": round(empty[&("send", n)]["requests_per_sec"].as_f64().unwrap_or(0.0) / r["requests_per_sec"].as_f64().unwrap_or(1.0).max(1.0), 2) }));
        }
        for &n in &conns {
            let r = bench
                .run(
                    &format!("list 50 (+ sends) @{count} stored"),
                    &server,
                    n,
                    list_messages(&world),
                    Some((bg, background_sends(&world))),
                )
                .await;
            ratios.push(json!({ "scenario": "list", "connections": n,
                "throughput_ratio": round(empty[&("list", n)]["requests_per_sec"].as_f64().unwrap_or(0.0) / r["requests_per_sec"].as_f64().unwrap_or(1.0).max(1.0), 2) }));
        }
        scale = json!({ "messages_seeded": bench.args.scale_messages, "seed_seconds": round(seeded, 1), "database_mb": round(db_mb, 0),
                        "serve_startup_ms": start_up.as_millis() as u64,
                        "empty_over_scale_throughput": ratios });
    }
    server.stop()?;

    // The smoke run fails when a scenario made no successful request or any failed one.
    let broken: Vec<String> = bench
        .results
        .iter()
        .filter(|r| {
            r.get("requests").is_some()
                && (r["requests"] == 0 || r["errors"].as_u64().unwrap_or(0) > 0)
        })
        .map(|r| {
            format!(
                "{} at {} connections",
                r["scenario"].as_str().unwrap_or(""),
                r["connections"]
            )
        })
        .collect();
    let out = json!({
        "date": shell("date", &["-u", "+%Y-%m-%dT%H:%M:%SZ"]),
        "commit": shell("git", &["rev-parse", "--short", "HEAD"]),
        "uncommitted_changes": !shell("git", &["status", "--porcelain"]).is_empty(),
        "machine": { "nproc": shell("nproc", &[]), "memory_mb": status_mem_mb(), "note": "shared machine; the harness, the server and other builds compete for the cores" },
        "seconds_per_run": bench.args.secs,
        "connections": conns,
        "smoke": bench.args.smoke,
        "fresh_start_ms": fresh_start.as_millis() as u64,
        "seeded_restart_ms": small_start.as_millis() as u64,
        "results": bench.results,
        "scale": scale,
        "notes": notes,
    });
    let path = bench.args.out.join("results.json");
    std::fs::write(&path, serde_json::to_string_pretty(&out)?)?;
    println!("results: {}", path.display());
    if bench.args.smoke && !broken.is_empty() {
        bail!(
            "scenarios with errors or no successful request: {}",
            broken.join(", ")
        );
    }
    if !bench.args.smoke {
        let _ = std::fs::remove_dir_all(&data_dir);
    }
    Ok(())
}

fn run_tool(bin: &Path, args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new(bin)
        .args(args)
        .env("SWITCHBOARD_LOG", "warn")
        .output()?;
    if !out.status.success() {
        bail!(
            "{} {} failed: {}",
            bin.display(),
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

fn status_mem_mb() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .unwrap_or(0)
        / 1024
}
