//! Tokens: a coordinator started with a client and a worker token refuses calls without a
//! token (UNAUTHENTICATED) and with the other kind's (PERMISSION_DENIED), logs each refusal,
//! and works end to end for a worker and a client that present the right ones; the dashboard
//! asks for the token; the embedded stack without tokens stays on loopback.

use std::process::{Command, Stdio};

use randori_proto::v1 as pb;
use randori_proto::v1::control_service_client::ControlServiceClient;
use randori_proto::v1::worker_service_client::WorkerServiceClient;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::*;

const CLIENT: &str = "client-token-0123456789";
const WORKER: &str = "worker-token-9876543210";

fn with_token(
    token: &str,
) -> impl FnMut(tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> + Clone {
    let value: tonic::metadata::MetadataValue<_> = format!("Bearer {token}").parse().unwrap();
    move |mut r: tonic::Request<()>| {
        r.metadata_mut().insert("authorization", value.clone());
        Ok(r)
    }
}

/// A raw HTTP request; returns the status line's code and the whole response.
async fn http(addr: std::net::SocketAddr, request: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await.unwrap();
    let code = raw
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, raw)
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_separate_clients_from_workers() {
    let url = fresh_database("auth").await;
    let env = [
        ("RANDORI_CLIENT_TOKEN", CLIENT),
        ("RANDORI_WORKER_TOKEN", WORKER),
    ];
    let (coordinator, addr, http_addr) = coordinator_with_http(&url, "127.0.0.1:0", &[], &env);
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();

    // No token, a wrong one, the other kind's: refused with the right code.
    let err = ControlServiceClient::new(channel.clone())
        .list_sweeps(pb::ListSweepsRequest {})
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unauthenticated, "{err:?}");
    let err = ControlServiceClient::with_interceptor(channel.clone(), with_token("guess"))
        .list_sweeps(pb::ListSweepsRequest {})
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unauthenticated, "{err:?}");
    let err = ControlServiceClient::with_interceptor(channel.clone(), with_token(WORKER))
        .list_sweeps(pb::ListSweepsRequest {})
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::PermissionDenied, "{err:?}");
    let err = WorkerServiceClient::with_interceptor(channel.clone(), with_token(CLIENT))
        .lease(pb::LeaseRequest {
            worker_id: uuid::Uuid::nil().to_string(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::PermissionDenied, "{err:?}");
    ControlServiceClient::with_interceptor(channel, with_token(CLIENT))
        .list_sweeps(pb::ListSweepsRequest {})
        .await
        .expect("the client token lists sweeps");

    // A worker with the worker token and `randori eval` with the client token: end to end.
    let name = unique("auth");
    let _worker = worker(
        addr,
        WorkerOpts {
            name: &name,
            slots: 1,
            extra_env: &[("RANDORI_TOKEN", WORKER)],
            ..Default::default()
        },
    );
    let code = std::env::temp_dir().join(format!("{name}.py"));
    std::fs::write(&code, "print('authenticated')\n").unwrap();
    let eval = |token: &str| {
        Command::new(BIN)
            .args(["eval", "--coordinator", &format!("http://{addr}"), "--json"])
            .arg("--task")
            .arg(toy_task())
            .arg("--code")
            .arg(&code)
            .env("RANDORI_TOKEN", token)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let out = eval(CLIENT);
    assert!(out.status.success(), "eval: {}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("authenticated"),
        "{}",
        text(&out.stdout)
    );
    let out = eval(WORKER);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.starts_with("error: refused by the coordinator") && err.lines().count() == 1,
        "one clear line: {err}"
    );

    // The dashboard and /metrics ask for the client token; /healthz and /livez do not.
    let get = |path: &str, extra: &str| {
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{extra}\r\n")
    };
    let (code, body) = http(http_addr, &get("/", "")).await;
    assert_eq!(code, 401);
    assert!(
        body.contains("<form method=\"post\" action=\"/login\">"),
        "{body}"
    );
    assert_eq!(http(http_addr, &get("/metrics", "")).await.0, 401);
    let worker_bearer = format!("Authorization: Bearer {WORKER}\r\n");
    assert_eq!(
        http(http_addr, &get("/metrics", &worker_bearer)).await.0,
        403
    );
    let client_bearer = format!("Authorization: Bearer {CLIENT}\r\n");
    assert_eq!(
        http(http_addr, &get("/metrics", &client_bearer)).await.0,
        200
    );
    assert_eq!(http(http_addr, &get("/healthz", "")).await.0, 200);
    assert_eq!(http(http_addr, &get("/livez", "")).await.0, 200);
    let login = |token: &str| {
        let form = format!("token={token}");
        format!(
            "POST /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
            form.len()
        )
    };
    assert_eq!(http(http_addr, &login("guess")).await.0, 401);
    let (code, response) = http(http_addr, &login(CLIENT)).await;
    assert_eq!(code, 303, "{response}");
    let cookie = response
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .expect("a cookie");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let pair = cookie.split(';').next().unwrap();
    let (code, page) = http(http_addr, &get("/", &format!("Cookie: {pair}\r\n"))).await;
    assert_eq!(code, 200, "{page}");
    assert!(page.contains("<h1>Sweeps</h1>"));

    // Every refusal was logged by the coordinator.
    let log = coordinator.log_text();
    assert!(log.matches("gRPC call refused").count() >= 4, "{log}");
    assert!(log.contains("HTTP request refused"), "{log}");
}

#[test]
fn the_embedded_stack_without_tokens_stays_on_loopback() {
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args([
            "up",
            "--listen",
            "0.0.0.0:0",
            "--http",
            "127.0.0.1:0",
            "--sandbox",
            "local",
        ])
        .env("RANDORI_HOME", home.path())
        .env_remove("RANDORI_CLIENT_TOKEN")
        .env_remove("RANDORI_WORKER_TOKEN")
        .env_remove("DATABASE_URL")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("0.0.0.0:0 is not a loopback address: set RANDORI_CLIENT_TOKEN"),
        "{err}"
    );
    // Refused before anything started: no database was created in the home.
    assert!(!home.path().join("postgres").exists());
}

#[test]
fn a_coordinator_without_tokens_refuses_an_open_port_unless_insecure() {
    // A coordinator on 0.0.0.0 without tokens, against a database that is not there.
    let open = |extra: &[&str]| {
        let out = Command::new(BIN)
            .args([
                "coordinator",
                "--listen",
                "0.0.0.0:0",
                "--http",
                "127.0.0.1:0",
            ])
            .args(["--database-url", "postgres://nobody@127.0.0.1:1/none"])
            .args(extra)
            .env_remove("RANDORI_CLIENT_TOKEN")
            .env_remove("RANDORI_WORKER_TOKEN")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(!out.status.success());
        text(&out.stderr)
    };
    let err = open(&[]);
    assert!(
        err.contains("0.0.0.0:0 is not a loopback address and no tokens are set")
            && err.contains("--insecure"),
        "{err}"
    );
    // With --insecure the check passes and it goes on to the database.
    let err = open(&["--insecure"]);
    assert!(!err.contains("not a loopback address"), "{err}");
}

/// A CA, a certificate for 127.0.0.1 signed by it, and a client certificate, made by openssl.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let run = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(dir.path())
                .stdin(Stdio::null())
                .output()
                .expect("running openssl");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                text(&out.stderr)
            );
        };
        run(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=randori test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ]);
        std::fs::write(
            dir.path().join("server.ext"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("client.ext"),
            "extendedKeyUsage=clientAuth\n",
        )
        .unwrap();
        for who in ["server", "client"] {
            run(&[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                &format!("/CN={who}"),
                "-keyout",
                &format!("{who}.key"),
                "-out",
                &format!("{who}.csr"),
            ]);
            run(&[
                "x509",
                "-req",
                "-in",
                &format!("{who}.csr"),
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                &format!("{who}.ext"),
                "-out",
                &format!("{who}.pem"),
            ]);
        }
        Self { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_string_lossy().into_owned()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn mutual_tls_carries_the_whole_path_and_refuses_plaintext_and_strangers() {
    let pki = Pki::new();
    let url = fresh_database("tls").await;
    let (ca, server_cert, server_key) = (
        pki.path("ca.pem"),
        pki.path("server.pem"),
        pki.path("server.key"),
    );
    let (_coordinator, addr, _) = coordinator_with_http(
        &url,
        "127.0.0.1:0",
        &[
            "--tls-cert",
            &server_cert,
            "--tls-key",
            &server_key,
            "--tls-ca",
            &ca,
        ],
        &[
            ("RANDORI_CLIENT_TOKEN", CLIENT),
            ("RANDORI_WORKER_TOKEN", WORKER),
        ],
    );
    let https = format!("https://127.0.0.1:{}", addr.port());
    let client_id = [
        ("RANDORI_TLS_CA", ca.as_str()),
        ("RANDORI_TLS_CERT", &pki.path("client.pem")),
        ("RANDORI_TLS_KEY", &pki.path("client.key")),
    ];
    let name = unique("tls");
    let mut worker_env = client_id.to_vec();
    worker_env.push(("RANDORI_TOKEN", WORKER));
    let _worker = worker_url(
        &https,
        WorkerOpts {
            name: &name,
            slots: 1,
            extra_env: &worker_env,
            ..Default::default()
        },
    );
    let code = std::env::temp_dir().join(format!("{name}.py"));
    std::fs::write(&code, "print('over tls')\n").unwrap();
    let eval = |coordinator: &str, env: &[(&str, &str)]| {
        Command::new(BIN)
            .args(["eval", "--coordinator", coordinator, "--json"])
            .arg("--task")
            .arg(toy_task())
            .arg("--code")
            .arg(&code)
            .env("RANDORI_TOKEN", CLIENT)
            .env_remove("RANDORI_TLS_CA")
            .env_remove("RANDORI_TLS_CERT")
            .env_remove("RANDORI_TLS_KEY")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    // The whole path over mutual TLS: the CLI and the worker both present certificates.
    let out = eval(&https, &client_id);
    assert!(out.status.success(), "eval over TLS: {}", text(&out.stderr));
    assert!(text(&out.stdout).contains("over tls"));
    // Plaintext to a TLS port, TLS without a client certificate, https without a CA: refused
    // with one line each.
    let plain = eval(&format!("http://{addr}"), &[]);
    assert!(!plain.status.success());
    let no_cert = eval(&https, &[("RANDORI_TLS_CA", ca.as_str())]);
    assert!(!no_cert.status.success());
    let no_ca = eval(&https, &[]);
    assert!(!no_ca.status.success());
    let err = text(&no_ca.stderr);
    assert!(err.contains("set RANDORI_TLS_CA"), "{err}");
    for out in [&plain, &no_cert, &no_ca] {
        assert_eq!(
            text(&out.stderr).lines().count(),
            1,
            "{}",
            text(&out.stderr)
        );
    }
}
