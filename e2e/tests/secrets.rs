//! Secrets stay in the keychain. With real credentials configured (a private D-Bus bus with an
//! unlocked gnome-keyring, and a simulator standing in for Telnyx that accepts only this run's
//! random API key), the agent saves the credentials in Settings, the engine logs in, a call is
//! answered and one placed. Then everything outside the keychain is searched for the API key, the
//! connection id, the telephony credential id and its SIP password:
//!
//! - the webview: the DOM (with form field values), every JSON-serializable window global,
//!   localStorage, sessionStorage and cookies;
//! - every IPC answer and event payload the window received while the test watched (the test
//!   wraps `window.__TAURI__.core.invoke`; instrumentation, not a stand-in), plus the answer of
//!   every read-only command;
//! - every file under the app's data, config and cache homes: the logs, the SQLite file with its
//!   `-wal`/`-shm`, WebKit's own storage (UTF-8 and UTF-16);
//! - the built UI bundle (`ui/dist`).
//!
//! Goal: 0 hits, also after a restart that starts straight in the Telnyx account. The scanner is
//! then proven on canaries: the API key planted in each kind of source must be found there.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::App;
use serde_json::{Value, json};
use softphone_sim::RunningSimulator;

/// A number libphonenumber accepts outside demo mode; the simulator does not know it
/// (UNALLOCATED_NUMBER), which is all an outbound call needs here.
const VALID_UNKNOWN_NUMBER: &str = "+12015550123";
/// The simulator's tone number, ringing the app as an inbound caller.
const TONE_NUMBER: &str = "+15555550100";

/// Debug logging for the app's crates and the keychain library, info for the rest.
const APP_DEBUG_LOG: &str = "info,softphone=debug,softphone_shell=debug,softphone_telnyx=debug,\
softphone_native_engine=debug,softphone_media=debug,softphone_keychain=debug,softphone_store=debug,keyring=debug";

/// A secret to look for, by name.
struct Needle {
    name: &'static str,
    value: String,
}

/// One place searched, and what it held.
struct Source {
    label: String,
    bytes: Vec<u8>,
}

/// Where (`label`) which secret (`needle`) was found.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Hit {
    label: String,
    needle: &'static str,
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|window| window == needle)
}

/// Searches every source for every needle, in UTF-8 and in UTF-16LE (WebKit and SQLite may
/// store text as UTF-16).
fn scan(sources: &[Source], needles: &[Needle]) -> Vec<Hit> {
    let mut hits = Vec::new();
    for needle in needles {
        let utf8 = needle.value.as_bytes().to_vec();
        let utf16: Vec<u8> = needle.value.encode_utf16().flat_map(u16::to_le_bytes).collect();
        for source in sources {
            if contains(&source.bytes, &utf8) || contains(&source.bytes, &utf16) {
                hits.push(Hit { label: source.label.clone(), needle: needle.name });
            }
        }
    }
    hits.sort();
    hits
}

/// Every file under `dir`, recursively (symlinks not followed).
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return files };
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_dir() {
            files.extend(files_under(&entry.path()));
        } else if kind.is_file() {
            files.push(entry.path());
        }
    }
    files
}

/// One source per file under `dir`, labelled `kind:<path relative to dir>`.
fn file_sources(kind: &str, dir: &Path) -> Vec<Source> {
    files_under(dir)
        .into_iter()
        .filter_map(|path| {
            let bytes = std::fs::read(&path).ok()?;
            let relative = path.strip_prefix(dir).unwrap_or(&path).display().to_string();
            Some(Source { label: format!("{kind}:{relative}"), bytes })
        })
        .collect()
}

/// Installed once per page, records into `window.__e2eIpc`: the data of every IPC callback
/// registered from now on (command answers and rejections, event payloads), and the name of
/// every command sent (the `ipc://localhost/<command>` requests). `__TAURI__.core` and
/// `__TAURI_INTERNALS__.invoke` are frozen; the callback table is an ordinary `Map`.
const RECORD_IPC: &str = r#"
const events = arguments[0];
if (!window.__e2eIpc) {
  window.__e2eIpc = [];
  const callbacks = window.__TAURI_INTERNALS__.callbacks;
  const set = Map.prototype.set;
  callbacks.set = function (id, callback) {
    return set.call(this, id, (data) => {
      window.__e2eIpc.push({ data });
      return callback(data);
    });
  };
  const originalFetch = window.fetch.bind(window);
  window.fetch = async (resource, init) => {
    const url = String((resource && resource.url) || resource);
    if (url.startsWith("ipc:")) window.__e2eIpc.push({ cmd: decodeURIComponent(url.split("/").pop()) });
    return originalFetch(resource, init);
  };
  for (const name of events) {
    window.__TAURI__.event.listen(name, () => {});
  }
}
return Object.prototype.hasOwnProperty.call(window.__TAURI_INTERNALS__.callbacks, "set");
"#;

/// The shell's events (softphone_core::ipc::event).
const EVENTS: [&str; 8] = [
    "connection://updated",
    "call://updated",
    "engine://command",
    "import://progress",
    "desktop://updated",
    "window://show-call",
    "dial://requested",
    "audio://device-changed",
];

/// Asks every read-only command once, through the recording wrapper.
const ASK_READ_ONLY_COMMANDS: &str = r#"
const done = arguments[0];
const page = { limit: 50, offset: 0 };
const asks = [
  ["get_app_info", {}], ["get_connection_status", {}], ["get_credentials_status", {}], ["get_calls", {}],
  ["get_recent_calls", { page }], ["get_missed_calls", { page }], ["get_dispositions", {}],
  ["get_unseen_missed_count", {}], ["get_diagnostics", {}], ["get_audio_meter", {}], ["get_desktop_status", {}],
  ["get_settings", {}], ["get_audio_devices", {}], ["search_leads", { query: "", page }],
  ["get_lead", { leadId: 1 }], ["get_lead_calls", { leadId: 1, page }],
];
Promise.allSettled(asks.map(([cmd, args]) => window.__TAURI__.core.invoke(cmd, args)))
  .then((results) => done(results.filter((r) => r.status === "fulfilled").length));
"#;

/// The webview's state as text: DOM with field values, window globals, storage, cookies, and
/// what the IPC recorder holds.
const COLLECT_WEBVIEW: &str = r#"
const fields = Array.from(document.querySelectorAll("input, textarea, select"))
  .map((field) => `${field.id || field.name}=${field.value}`).join("\n");
// A replacer for one JSON.stringify call: each object once (no cycles), no DOM nodes (the DOM is
// collected on its own), functions by name.
const safe = () => {
  const seen = new WeakSet();
  return (key, value) => {
    if (typeof value === "function") return `function ${value.name}`;
    if (typeof value === "bigint") return String(value);
    if (value && typeof value === "object") {
      if (seen.has(value) || value === window || value instanceof Node) return undefined;
      seen.add(value);
    }
    return value;
  };
};
const globals = [];
for (const name of Object.getOwnPropertyNames(window)) {
  if (name === "__e2eIpc") continue;
  try {
    const text = JSON.stringify(window[name], safe());
    if (text !== undefined) globals.push(`${name}=${text.slice(0, 1000000)}`);
  } catch (error) {
    // Some host objects refuse to be read or serialized; they hold no app data.
  }
}
const storage = (store) => {
  const out = [];
  for (let i = 0; i < store.length; i++) out.push(`${store.key(i)}=${store.getItem(store.key(i))}`);
  return out.join("\n");
};
return {
  dom: document.documentElement.outerHTML + "\n" + fields,
  globals: globals.join("\n"),
  localStorage: storage(window.localStorage),
  sessionStorage: storage(window.sessionStorage),
  cookies: document.cookie,
  ipc: JSON.stringify(window.__e2eIpc || [], safe()),
  ipcCount: (window.__e2eIpc || []).length,
  ipcCommands: (window.__e2eIpc || []).filter((r) => r.cmd).map((r) => r.cmd),
};
"#;

/// Everything outside the keychain: the webview, the IPC record, the app's files, the bundle.
async fn collect(app: &App) -> (Vec<Source>, Value) {
    let answered = app.client.execute_async(ASK_READ_ONLY_COMMANDS, vec![]).await.expect("read-only commands");
    assert!(answered.as_u64().is_some_and(|count| count >= 10), "the read-only commands answered: {answered}");
    let webview = app.client.execute(COLLECT_WEBVIEW, vec![]).await.expect("the webview's state");
    let mut sources: Vec<Source> = ["dom", "globals", "localStorage", "sessionStorage", "cookies", "ipc"]
        .iter()
        .map(|key| Source {
            label: format!("webview:{key}"),
            bytes: webview[*key].as_str().unwrap_or_default().as_bytes().to_vec(),
        })
        .collect();
    sources.extend(file_sources("file", app.data_home.path()));
    sources.extend(file_sources("bundle", &workspace_root().join("ui").join("dist")));
    (sources, webview)
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("e2e sits in the workspace").to_path_buf()
}

/// The credential the app created on the simulator (the only one): its id and SIP password.
async fn created_credential(sim: &RunningSimulator, api_key: &str) -> (String, String) {
    let listed: Value = common::http()
        .get(format!("{}/v2/telephony_credentials", sim.base_url()))
        .bearer_auth(api_key)
        .send()
        .await
        .expect("the simulator lists credentials")
        .json()
        .await
        .expect("JSON");
    let credentials = listed["data"].as_array().cloned().unwrap_or_default();
    assert_eq!(credentials.len(), 1, "the app created exactly one telephony credential: {listed}");
    let id = credentials[0]["id"].as_str().expect("an id").to_owned();
    let password = credentials[0]["sip_password"].as_str().expect("a SIP password").to_owned();
    (id, password)
}

async fn record_ipc(app: &App) {
    let events: Vec<Value> = EVENTS.iter().map(|name| json!(name)).collect();
    let installed = app.client.execute(RECORD_IPC, vec![Value::Array(events)]).await.expect("the IPC recorder runs");
    assert_eq!(installed, json!(true), "the IPC recorder is installed");
}

fn describe(hits: &[Hit]) -> String {
    let mut by_place: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for hit in hits {
        by_place.entry(hit.label.as_str()).or_default().push(hit.needle);
    }
    by_place.iter().map(|(place, needles)| format!("  {place}: {}", needles.join(", "))).collect::<Vec<_>>().join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_leaves_the_keychain_with_real_credentials() {
    let account = common::RealAccount::start(&common::random_hex()).await;
    let (sim, api_key) = (&account.sim, account.api_key.clone());

    // First start: nothing in the keychain, demo mode. The agent enters the account in Settings;
    // the engine logs in to "Telnyx" (the simulator) with a token minted from the new key.
    let app = App::launch_with(account.launch(None, APP_DEBUG_LOG)).await;
    app.wait_for_text("#connection-state", |text| text == "Ready").await;
    record_ipc(&app).await;
    account.save_in_settings(&app).await;

    // A caller rings; the agent answers, talks, hangs up and dismisses the wrap-up.
    let started: Value = common::http()
        .post(format!("{}/control/calls/inbound", sim.base_url()))
        .json(&json!({ "from": TONE_NUMBER, "caller_name": "Canary caller" }))
        .send()
        .await
        .expect("the simulator rings the app")
        .json()
        .await
        .expect("JSON");
    assert!(started["call_id"].is_string(), "the simulator rang a logged-in app: {started}");
    app.wait_for_text("#calls-panel .call-state", |text| text == "Ringing").await;
    app.find("#calls-panel .answer").await.click().await.expect("answer");
    app.wait_for_text("#calls-panel .call-state", |text| text == "Active").await;
    app.find("#calls-panel .hangup").await.click().await.expect("hang up");
    app.wait_for_text("#calls-panel .call-state", |text| text.starts_with("Ended")).await;
    app.find("#calls-panel .dismiss").await.click().await.expect("dismiss");
    app.wait_for_count("#calls-panel .call-card", |count| count == 0).await;

    // And places a call the network does not know.
    app.open("dialer").await;
    app.type_into("#dial-number", VALID_UNKNOWN_NUMBER).await;
    app.find("#dial-call").await.click().await.expect("call");
    app.wait_for_text("#calls-panel .call-state", |text| text.starts_with("Ended")).await;
    app.screenshot("secrets-real-account").await;

    // What the keychain holds is what the scan looks for.
    let (credential_id, sip_password) = created_credential(sim, &api_key).await;
    assert_eq!(
        common::keychain_item(&account.bus, &account.service, "telnyx-api-key"),
        api_key,
        "the key is in the keychain"
    );
    assert_eq!(common::keychain_item(&account.bus, &account.service, "telnyx-telephony-credential-id"), credential_id);
    let needles = [
        Needle { name: "API key", value: api_key.clone() },
        Needle { name: "connection id", value: account.connection_id.clone() },
        Needle { name: "telephony credential id", value: credential_id.clone() },
        Needle { name: "SIP password", value: sip_password.clone() },
    ];

    let (sources, webview) = collect(&app).await;
    let recorded: Vec<String> = serde_json::from_value(webview["ipcCommands"].clone()).unwrap_or_default();
    for command in ["save_credentials", "answer_call", "hang_up_call", "place_call", "get_diagnostics"] {
        assert!(recorded.iter().any(|name| name == command), "the recorder saw {command}: {recorded:?}");
    }
    let ipc = sources.iter().find(|source| source.label == "webview:ipc").expect("the IPC record");
    assert!(
        contains(&ipc.bytes, TONE_NUMBER.as_bytes()),
        "the IPC record holds the calls the window was told about ({} bytes)",
        ipc.bytes.len()
    );
    let files = sources.iter().filter(|source| source.label.starts_with("file:")).count();
    assert!(
        sources.iter().any(|source| source.label.ends_with("softphone.sqlite3")),
        "the SQLite file is among the {files} files scanned"
    );
    assert!(sources.iter().any(|source| source.label.contains("logs/softphone.log")), "the log is scanned");
    let hits = scan(&sources, &needles);
    eprintln!(
        "secrets scan (first run): {} sources ({files} files, {} IPC records), {} hits",
        sources.len(),
        webview["ipcCount"],
        hits.len()
    );
    assert!(hits.is_empty(), "secrets found outside the keychain:\n{}", describe(&hits));

    // Restart: the app now starts straight in the Telnyx account, from the keychain.
    let data_home = app.quit().await;
    let app = App::launch_with(account.launch(Some(data_home), APP_DEBUG_LOG)).await;
    app.wait_for_text("#connection-state", |text| text == "Ready").await;
    record_ipc(&app).await;
    app.open("settings").await;
    app.wait_for_text("#settings-mode", |text| text == "Telnyx account").await;
    let (sources, webview) = collect(&app).await;
    let hits = scan(&sources, &needles);
    eprintln!("secrets scan (after restart): {} sources, {} hits", sources.len(), hits.len());
    assert!(hits.is_empty(), "secrets found outside the keychain after a restart:\n{}", describe(&hits));
    assert!(webview["ipcCount"].as_u64().is_some_and(|count| count >= 10), "the recorder ran: {}", webview["ipcCount"]);

    // Canaries: the API key planted in each kind of source is found there.
    app.client
        .execute(
            r#"const key = arguments[0];
               document.body.insertAdjacentHTML("beforeend", `<div id="e2e-canary" hidden>${key}</div>`);
               window.__e2eCanary = { nested: { value: key } };
               localStorage.setItem("e2e-canary", key);
               sessionStorage.setItem("e2e-canary", key);
               return true;"#,
            vec![json!(api_key)],
        )
        .await
        .expect("canaries planted in the webview");
    // Through the app's own path: a lead's note (an IPC answer, then the SQLite file).
    let noted = app
        .client
        .execute_async(
            r#"const [key, done] = arguments;
               window.__TAURI__.core.invoke("search_leads", { query: "", page: { limit: 1, offset: 0 } })
                 .then((leads) => window.__TAURI__.core.invoke("update_lead_notes", { leadId: leads[0].id, notes: key }))
                 .then(() => done(true), (error) => done(String(JSON.stringify(error))));"#,
            vec![json!(api_key)],
        )
        .await
        .expect("a note written");
    assert_eq!(noted, json!(true), "the canary note was saved");
    let logs = app.data_home.path().join("data/io.agentsoftphone.desktop/logs");
    std::fs::write(logs.join("softphone.log.e2e-canary"), format!("INFO canary line {api_key}\n")).expect("log line");
    let (sources, _) = collect(&app).await;
    let found: Vec<String> = scan(&sources, &needles[..1]).into_iter().map(|hit| hit.label).collect::<Vec<_>>();
    eprintln!("canaries found in: {found:?}");
    for place in [
        "webview:dom",
        "webview:globals",
        "webview:localStorage",
        "webview:sessionStorage",
        "webview:ipc",
        "file:data/io.agentsoftphone.desktop/logs/softphone.log.e2e-canary",
    ] {
        assert!(found.iter().any(|label| label == place), "the scanner missed the canary in {place}: {found:?}");
    }
    assert!(
        found.iter().any(|label| label.starts_with("file:data/io.agentsoftphone.desktop/softphone.sqlite3")),
        "the scanner missed the canary note in the SQLite file (or its WAL): {found:?}"
    );
    app.close().await;
}
