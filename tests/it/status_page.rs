//! The status page (issue 23): written after every tick and by `afk status
//! --html`; hostile forge, agent and registry text stays text (read back with
//! a real HTML5 parser); and it renders in a real browser at desktop and
//! phone widths.

use crate::support::*;
use serde_json::json;

/// What an attacker puts where afk will later show it: script, attribute
/// breakouts, `javascript:` URLs, bidi overrides, markup that closes a table.
const HOSTILE: &[&str] = &[
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(1)>",
    "' onmouseover='alert(1)' x='",
    "javascript:alert(document.cookie)",
    "invoice\u{202e}fdp.exe",
    "</td></tr></table><a href=\"https://evil.example/\">click</a>",
    "<svg onload=alert(1)><iframe src=javascript:alert(1)>",
];

/// An afk whose config writes the status page to `www/index.html`.
fn with_page(sb: &Sandbox, mode: &str) -> Afk {
    let afk = Afk::agent(sb, mode, "", "");
    let text = std::fs::read_to_string(&afk.config).unwrap();
    std::fs::write(
        &afk.config,
        format!("status_page = \"www/index.html\"\n{text}"),
    )
    .unwrap();
    std::fs::create_dir_all(afk.scratch.path("www")).unwrap();
    afk
}

/// Every element of the page, read as a browser reads it: no script, no
/// event handler, no embedded content, every link to the forge over http(s).
fn check_inert(html: &str, forge: &str) {
    let doc = scraper::Html::parse_document(html);
    let all = scraper::Selector::parse("*").unwrap();
    let mut links = 0;
    for el in doc.select(&all) {
        let name = el.value().name();
        assert!(
            !matches!(
                name,
                "script" | "iframe" | "img" | "object" | "embed" | "form" | "base" | "link"
            ),
            "a <{name}> element: {}",
            el.html()
        );
        for (attr, value) in el.value().attrs() {
            assert!(
                !attr.to_ascii_lowercase().starts_with("on"),
                "an event handler {attr}={value:?} on <{name}>"
            );
            assert!(
                !value.to_ascii_lowercase().contains("javascript:"),
                "{attr}={value:?} on <{name}>"
            );
        }
        if let Some(href) = el.value().attr("href") {
            links += 1;
            assert!(
                (href.starts_with("http://") || href.starts_with("https://"))
                    && href.starts_with(&format!("{forge}/acme/")),
                "a link away from the forge: {href}"
            );
        }
    }
    assert!(links > 0, "the page links to the forge");
    let csp = scraper::Selector::parse("meta[http-equiv=\"Content-Security-Policy\"]").unwrap();
    let policy = doc
        .select(&csp)
        .next()
        .and_then(|m| m.value().attr("content"))
        .unwrap_or_default();
    assert!(policy.starts_with("default-src 'none'"), "{policy}");
    assert!(!policy.contains("script-src"), "{policy}");
    assert!(
        !html.contains('\u{202e}'),
        "a bidi override reached the page"
    );
}

/// The page's visible text.
fn text_of(html: &str) -> String {
    scraper::Html::parse_document(html)
        .root_element()
        .text()
        .collect()
}

both_dialects! {
azure_devops_plays;
#[test]
fn hostile_agent_forge_and_registry_text_stays_text_on_the_status_page() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let afk = with_page(&sb, "blocked");
    let (code, _, err) = afk.poll();
    assert_eq!(code, 0, "{err}");
    let page = afk.scratch.path("www/index.html");
    assert!(page.exists(), "the poll tick wrote the page");
    afk.wait_agent(1);
    // the agent writes what it likes in its progress file
    let blocked = json!({"status": "blocked", "reason": HOSTILE.join(" "), "questions": HOSTILE});
    std::fs::write(
        afk.scratch.path("state/runs/1/progress.jsonl"),
        format!("{{\"phase\":{}}}\n{blocked}\n", json!(HOSTILE[1])),
    )
    .unwrap();
    let (_, r, _) = afk.watch();
    assert_eq!(action_of(&r, 1).0, "escalate", "{r}");
    // forge- and registry-derived rows: a stored PR URL, an upgrade's image
    // and tags as a registry named them, a freeze and a lesson
    let h = |i: usize| HOSTILE[i].replace('\'', "''");
    afk.sql(&format!(
        "UPDATE runs SET pr_number = 7, pr_url = 'javascript:alert(1)';
         INSERT INTO upgrades (mirror, pr, recipe, branch, url, image, from_tag, to_tag,
            created_at, updated_at, step, step_since, queue_place)
         VALUES ('acme/api', 3, '{}', 'b', 'javascript:alert(1)', '{}', '{}', '{}',
            '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 'testing', '2026-01-01T00:00:00Z', 1);
         INSERT INTO upgrade_scans (recipe, scanned_at) VALUES ('{}', '2026-01-01T00:00:00Z');
         INSERT INTO frozen_repos (repo, reason, frozen_at) VALUES ('acme/api', '{}', 't');
         INSERT INTO lessons (created_at, lesson_type, source, status) VALUES ('t', '{}', 'auto', 'open');",
        h(0), h(1), h(2), h(3), h(5), h(4), h(6)
    ));
    let (code, _, err) = afk.watch();
    assert_eq!(code, 0, "{err}");
    let written = std::fs::read_to_string(&page).unwrap();
    sb.clear_requests();
    let out = afk.cmd().args(["status", "--html"]).output().unwrap();
    assert_success(&out);
    assert_eq!(sb.requests(), Vec::<serde_json::Value>::new(), "the page asks the forge nothing");
    let printed = String::from_utf8(out.stdout).unwrap();
    // the forge's web root: the sandbox's, or an Azure DevOps organization's
    // (its links are `{org}/{project}/_workitems/edit/{n}`, `…/_git/{repo}`)
    let web = match dialect() {
        Dialect::AzureDevops => sb.api_url(),
        _ => sb.url.clone(),
    };
    for html in [&written, &printed] {
        check_inert(html, &web);
        let text = text_of(html);
        // shown as the text it is, never as markup
        for s in ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>"] {
            assert!(text.contains(s), "{s} is shown as text");
        }
        assert!(text.contains("invoice\\u{202e}fdp.exe"), "the override is shown, escaped");
    }
    let pr = sb.dialect.profile().pr_segment;
    let repo = match dialect() {
        Dialect::AzureDevops => "acme/_git/api",
        _ => "acme/api",
    };
    assert!(
        written.contains(&format!("href=\"{web}/{repo}/{pr}/7\"")),
        "the PR link is built from forge.url, not the stored URL"
    );
    // written whole, readable by a web server, nothing left beside it
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&page).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644);
    let left: Vec<_> = std::fs::read_dir(afk.scratch.path("www"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("index.html")]);
}
}

/// The cells' text (`|` between) of the table after the heading starting `heading`.
fn table_after(html: &str, heading: &str) -> String {
    let doc = scraper::Html::parse_document(html);
    let h2 = scraper::Selector::parse("h2").unwrap();
    let at = doc
        .select(&h2)
        .find(|h| h.text().collect::<String>().starts_with(heading))
        .unwrap_or_else(|| panic!("no heading {heading}: {html}"));
    // the table, in its scrolling box: the element right after the heading
    let table = at
        .next_siblings()
        .find_map(scraper::ElementRef::wrap)
        .expect("a table after the heading");
    table.text().collect::<Vec<_>>().join("|")
}

/// A run's CI cell follows its PR's head: red, green since, and once merged
/// the CI it merged with (before, an ended run's CI cell was empty), on
/// every dialect: on Azure DevOps too, where the merged PR's CI is no longer
/// read (the page said "no checks" where `runs show` said green).
#[test]
fn a_merged_runs_row_shows_the_ci_it_merged_with() {
    for d in [Dialect::Github, Dialect::AzureDevops] {
        with_dialect(d, merged_row_shows_its_ci);
    }
}

fn merged_row_shows_its_ci() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let afk = with_page(&sb, "pr");
    let (code, _, err) = afk.poll();
    assert_eq!(code, 0, "{err}");
    afk.wait_agent(1);
    let page = afk.scratch.path("www/index.html");
    sb.status("acme/api", "afk/issue-1", "ci/build", "failure");
    let (code, _, err) = afk.watch();
    assert_eq!(code, 0, "{err}");
    let html = std::fs::read_to_string(&page).unwrap();
    let live = table_after(&html, "Runs in flight");
    assert!(live.contains("|red|"), "{live}");
    // the corrective turn pushes a new head: no status on it yet
    afk.wait_agent(1);
    let (_, r, _) = afk.watch();
    assert_eq!(action_of(&r, 1), ("wait".into(), Some("ci-pending".into())));
    let live = table_after(&std::fs::read_to_string(&page).unwrap(), "Runs in flight");
    assert!(live.contains("|not green yet|"), "{live}");
    sb.status("acme/api", "afk/issue-1", "ci/build", "success");
    let (_, r, _) = afk.watch();
    assert_eq!(
        action_of(&r, 1),
        ("wait".into(), Some("awaiting-merge".into()))
    );
    let live = table_after(&std::fs::read_to_string(&page).unwrap(), "Runs in flight");
    assert!(live.contains("|green since "), "{live}");
    let pr = sb.open_prs("acme/api")[0].number;
    sb.merge_by("acme/api", pr, "alice");
    let (_, r, _) = afk.watch();
    assert_eq!(action_of(&r, 1).0, "succeed", "{r}");
    let out = afk.cmd().args(["status", "--html"]).output().unwrap();
    assert_success(&out);
    let ended = table_after(&String::from_utf8(out.stdout).unwrap(), "Last 1 ended runs");
    assert!(ended.contains("|green|"), "{ended}");
}

#[test]
fn status_html_and_json_together_is_a_usage_error() {
    let afk = Afk::with_text("state_path = \"s/afk.db\"\n");
    let out = afk
        .cmd()
        .args(["--json", "status", "--html"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        !afk.scratch.path("s/afk.db").exists(),
        "reading creates nothing"
    );
}

#[test]
fn a_dry_run_or_a_disabled_tick_leaves_the_page_alone() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let afk = with_page(&sb, "pr");
    let out = afk.cmd().args(["--dry-run", "poll"]).output().unwrap();
    assert_success(&out);
    assert!(!afk.scratch.path("www/index.html").exists(), "a dry run");
    std::fs::create_dir_all(afk.scratch.path("state")).unwrap();
    std::fs::write(afk.scratch.path("state/STOP"), "").unwrap();
    let out = afk.cmd().args(["poll"]).output().unwrap();
    assert_success(&out);
    assert!(
        !afk.scratch.path("www/index.html").exists(),
        "a stopped tick"
    );
}

const CHROMIUM: &str = "/usr/bin/chromium";

/// Chromium, headless, on a file: its screenshot or its DOM.
fn chromium(page: &std::path::Path, out: &Scratch, size: (u32, u32), extra: &[&str]) -> Vec<u8> {
    let profile = out.path(&format!("profile-{}x{}-{}", size.0, size.1, extra.len()));
    let o = assert_cmd::Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--window-size={},{}", size.0, size.1))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .timeout(std::time::Duration::from_secs(90))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    o.stdout
}

/// Decode a PNG: (width, height, pixels as RGB(A) rows).
fn decode(path: &std::path::Path) -> (u32, u32, usize, Vec<u8>) {
    let file = std::io::BufReader::new(std::fs::File::open(path).unwrap());
    let mut reader = png::Decoder::new(file).read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    (info.width, info.height, info.color_type.samples(), buf)
}

#[test]
fn the_demo_page_renders_in_a_real_browser_at_desktop_and_phone_widths() {
    if std::env::var("AFK_SKIP_BROWSER").as_deref() == Ok("1") {
        eprintln!("skipped: AFK_SKIP_BROWSER=1 (CI installs chromium and runs this test)");
        return;
    }
    assert!(
        std::path::Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: apt-get install chromium (.ci/run does), or set AFK_SKIP_BROWSER=1 to skip"
    );
    let out = demo(&["--json", "demo", "--keep"], 300);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let written = std::path::PathBuf::from(doc["status_page"].as_str().unwrap());
    let scratch = Scratch::new();
    let page = scratch.path("index.html");
    std::fs::copy(&written, &page).unwrap();
    // the page lives in the kept demo folder: remove the folder
    std::fs::remove_dir_all(written.parent().unwrap()).unwrap();
    for (w, h) in [(1280, 900), (390, 844)] {
        let shot = scratch.path(&format!("shot-{w}.png"));
        chromium(
            &page,
            &scratch,
            (w, h),
            &[&format!("--screenshot={}", shot.display())],
        );
        let (pw, ph, samples, px) = decode(&shot);
        assert_eq!((pw, ph), (w, h));
        let first = &px[..samples];
        let other = px.chunks(samples).filter(|p| *p != first).count();
        assert!(
            other * 20 > px.len() / samples,
            "the {w}x{h} screenshot is (nearly) one colour: {other} pixels differ"
        );
        let dom = String::from_utf8(chromium(&page, &scratch, (w, h), &["--dump-dom"])).unwrap();
        let html = scraper::Html::parse_document(&dom);
        let count = |sel: &str| html.select(&scraper::Selector::parse(sel).unwrap()).count();
        assert_eq!(count("svg.chart.canary-outcomes"), 1, "{dom}");
        assert_eq!(count("svg.chart.canary-posterior line.threshold"), 2);
        assert_eq!(count("svg.chart.spend rect.bar"), 14);
        assert!(count("svg.chart.canary-outcomes circle") > 0);
        assert_eq!(count("script"), 0);
        assert!(
            count("div.scroll > table") > 0,
            "tables scroll sideways on a phone"
        );
    }
    // at a desktop's 1300 px the pilot table fits: no column (ZERO-TOUCH,
    // SURVIVAL) hidden past a sideways scroll. The browser measures it: a
    // copy of the page with a script that writes the measure into the DOM
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains("id=\"pilot\""),
        "the demo's page has its pilot figures"
    );
    let measured = scratch.path("measured.html");
    let probe = "<script>document.body.setAttribute('data-pilot-fits', String([...document.querySelectorAll('#pilot div.scroll')].every(d => d.scrollWidth <= d.clientWidth)))</script>";
    // the page's own policy runs no script: the measuring copy drops it
    let csp = html
        .find("<meta http-equiv=\"Content-Security-Policy\"")
        .map(|at| &html[at..at + html[at..].find('>').unwrap() + 1])
        .expect("the page's policy");
    let copy = html
        .replace(csp, "")
        .replace("</body>", &format!("{probe}</body>"));
    std::fs::write(&measured, copy).unwrap();
    let dom =
        String::from_utf8(chromium(&measured, &scratch, (1300, 900), &["--dump-dom"])).unwrap();
    assert!(
        dom.contains("data-pilot-fits=\"true\""),
        "the pilot table scrolls sideways at 1300 px: {}",
        dom.split("<section id=\"pilot\">").nth(1).unwrap_or(&dom)
    );
}

#[test]
fn doctor_fails_a_status_page_folder_that_is_missing_with_the_fix() {
    let r = json!({"name": "acme/api", "collaborators": {"afk-bot": "write"}, "issues": []});
    let sb = Sandbox::start(json!({ "repos": [r] }));
    let afk = Afk::new(&sb, "enabled = true\nallowlist = [\"acme/api\"]", "");
    let text = std::fs::read_to_string(&afk.config).unwrap();
    std::fs::write(
        &afk.config,
        format!("status_page = \"www/index.html\"\n{text}"),
    )
    .unwrap();
    let out = afk.cmd().arg("doctor").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let line = text
        .lines()
        .find(|l| l.starts_with("FAIL status page:"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains("does not exist: create"), "{line}");
    std::fs::create_dir_all(afk.scratch.path("www")).unwrap();
    let out = afk.cmd().arg("doctor").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines()
            .any(|l| l.starts_with("ok status page:") || l.contains("index.html can be written")),
        "{text}"
    );
}
