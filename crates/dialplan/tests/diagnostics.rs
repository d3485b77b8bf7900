//! Every kind of mistake is reported with its exact file, line and column.

use dialplan::{FileExists, PromptChecker, load, load_str};
use std::path::{Path, PathBuf};

/// Accepts every prompt, so tests can focus on one kind of problem.
struct AnyPrompt;

impl PromptChecker for AnyPrompt {
    fn check(&self, _: &Path) -> Result<(), String> {
        Ok(())
    }
    fn check_directory(&self, _: &Path) -> Result<(), String> {
        Ok(())
    }
}

fn problems(yaml: &str) -> Vec<String> {
    match load_str(yaml, "t.yaml", Path::new("/nonexistent"), &AnyPrompt) {
        Ok(_) => Vec::new(),
        Err(d) => d.iter().map(ToString::to_string).collect(),
    }
}

fn example(name: &str) -> Vec<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../dialplan/examples")
        .join(name);
    let text = std::fs::read_to_string(&path).expect("example exists");
    match load_str(
        &text,
        &format!("dialplan/examples/{name}"),
        Path::new("/nonexistent"),
        &AnyPrompt,
    ) {
        Ok(_) => Vec::new(),
        Err(d) => d.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn broken_example_reports_everything_at_once() {
    assert_eq!(
        example("broken.yaml"),
        [
            "dialplan/examples/broken.yaml:4:17: wrong value for `ring_timeout`; expected a duration such as `30s`, `5m`, `1h30m` or `500ms`, found text `ten seconds`",
            "dialplan/examples/broken.yaml:8:5: unknown key `pasword` in an extension (did you mean `password`?)",
            "dialplan/examples/broken.yaml:9:13: duplicate extension `201` (first defined at line 6)",
            "dialplan/examples/broken.yaml:15:18: goto to a menu that does not exist: `mian` (did you mean `main`?)",
            "dialplan/examples/broken.yaml:16:7: duplicate menu digit `1` in menu `main` (first given at line 15)",
            "dialplan/examples/broken.yaml:17:3: menu `orphan` is unreachable: no entry point, route or fallback leads to it; expected a `menu:` action or entry point naming it, or remove the menu",
        ]
    );
}

#[test]
fn silent_loop_is_reported_once_at_the_first_menu() {
    assert_eq!(
        example("loop.yaml"),
        [
            "dialplan/examples/loop.yaml:4:5: loop with no way out: a caller who presses nothing goes round first -> second -> first forever; expected `after_retries` somewhere in the loop to end with `hangup`, `operator` or a `call`"
        ]
    );
}

#[test]
fn yaml_syntax_error_has_position() {
    assert_eq!(
        problems("menus:\n  main: [1\n"),
        ["t.yaml:2:9: invalid YAML: unclosed bracket '[' at line 2, column 9"]
    );
}

#[test]
fn wrong_types() {
    assert_eq!(
        problems(
            "settings:\n  max_concurrent_calls: lots\n  codecs: PCMU\nextensions:\n  - number: 201\n    vip: yes\n"
        ),
        [
            "t.yaml:2:25: wrong value for `max_concurrent_calls`; expected a whole number from 1 to 1000000, found text `lots`",
            "t.yaml:3:11: wrong type for `codecs`; expected a list (lines starting with `- `), found text `PCMU`",
            "t.yaml:6:10: wrong type for `vip`; expected `true` or `false`, found text `yes`",
        ]
    );
}

#[test]
fn unknown_top_level_key_and_action() {
    assert_eq!(
        problems(
            "extentions: []\nmenus:\n  main:\n    routes:\n      1: hangpu\nentry:\n  outside_callers: { menu: main }\n"
        ),
        [
            "t.yaml:1:1: unknown key `extentions` in the dialplan (did you mean `extensions`?)",
            "t.yaml:5:10: unknown action `hangpu` (did you mean `hangup`?)",
        ]
    );
}

#[test]
fn overlapping_schedule_rules() {
    let yaml = "attendant:\n  schedule:\n    rules:\n      - { mode: manual, days: mon-fri, from: \"08:00\", to: \"20:00\" }\n      - { mode: automatic, days: fri, from: \"19:00\", to: \"23:00\" }\n";
    assert_eq!(
        problems(yaml),
        [
            "t.yaml:5:9: this schedule rule overlaps the rule at line 4 (both apply on fri 2024-01-05 at 19:00); expected rules that never apply at the same moment"
        ]
    );
}

#[test]
fn missing_prompt_is_reported_where_it_is_used() {
    let dir = std::env::temp_dir().join(format!("dialplan-prompts-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("prompts/en")).expect("temp dir");
    std::fs::create_dir_all(dir.join("prompts/moh/default")).expect("temp dir");
    let system = [
        "invalid",
        "no_input",
        "goodbye",
        "busy",
        "no_answer",
        "unavailable",
        "operator_unavailable",
        "mode_automatic",
        "mode_manual",
        "you_are_caller_number",
        "operator_paused",
        "operator_available",
        "operator_logged_out",
        "please_hold",
        "transfer_failed",
        "dnd_on",
        "dnd_off",
        "forward_on",
        "forward_off",
        "feature_refused",
        "forward_refused",
        "guest_dnd",
        "press_0_operator",
        "restricted",
        "not_in_service",
        "number_changed",
        "welcome",
    ];
    for name in system
        .iter()
        .map(|s| (*s).to_string())
        .chain((0..10).map(|d| format!("digit_{d}")))
    {
        std::fs::write(dir.join(format!("prompts/en/{name}.wav")), b"RIFF").expect("write");
    }
    let yaml = "menus:\n  main:\n    greeting: [welcome, wellcome]\nentry:\n  outside_callers: { menu: main }\n";
    let got: Vec<String> = match load_str(yaml, "t.yaml", &dir, &FileExists) {
        Ok(_) => Vec::new(),
        Err(d) => d
            .iter()
            .map(|d| format!("{}:{}: {}", d.line, d.column, d.message))
            .collect(),
    };
    assert_eq!(got.len(), 1, "{got:#?}");
    assert!(
        got[0].starts_with("3:25: missing or unreadable prompt `wellcome` (en): "),
        "{got:#?}"
    );
    assert!(got[0].contains("wellcome.wav"), "{got:#?}");
    std::fs::write(dir.join("d.yaml"), yaml).expect("write");
    assert!(load(&dir.join("d.yaml"), &FileExists).is_err());
    std::fs::write(dir.join("prompts/en/wellcome.wav"), b"RIFF").expect("write");
    assert!(load(&dir.join("d.yaml"), &FileExists).is_ok());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Rejects one file by name, as the server's WAV-decoding checker would.
struct RejectOne(&'static str);

impl PromptChecker for RejectOne {
    fn check(&self, path: &Path) -> Result<(), String> {
        if path.ends_with(self.0) {
            Err("not a WAV file (no RIFF header)".into())
        } else {
            Ok(())
        }
    }
    fn check_directory(&self, _: &Path) -> Result<(), String> {
        Ok(())
    }
}

#[test]
fn unreadable_prompt_reports_the_checker_reason_per_language() {
    let yaml = "prompts:\n  languages: { en: English, zh: 中文 }\nmenus:\n  main:\n    greeting: welcome\nentry:\n  outside_callers: { menu: main }\n";
    let got = match load_str(
        yaml,
        "t.yaml",
        Path::new("/srv"),
        &RejectOne("zh/welcome.wav"),
    ) {
        Ok(_) => Vec::new(),
        Err(d) => d.iter().map(ToString::to_string).collect(),
    };
    assert_eq!(
        got,
        [
            "t.yaml:5:15: missing or unreadable prompt `welcome` (zh): /srv/prompts/zh/welcome.wav: not a WAV file (no RIFF header); expected a readable WAV file (8 or 16 kHz mono 16-bit PCM)"
        ]
    );
}

#[test]
fn template_mistakes_are_reported_once() {
    let yaml = "menu_templates:\n  base:\n    retires: 2\nmenus:\n  a:\n    template: base\n  b:\n    template: bsae\nentry:\n  numbers: { 1: { menu: a }, 2: { menu: b } }\n";
    assert_eq!(
        problems(yaml),
        [
            "t.yaml:3:5: unknown key `retires` in menu template `base` (did you mean `retries`?)",
            "t.yaml:8:15: no menu template named `bsae` (did you mean `base`?)",
        ]
    );
}

#[test]
fn credentials_and_accounts_are_checked() {
    let yaml = "extensions:\n  - { number: 201, ha1_md5: abc }\n  - { number: 202, password: x, ha1_md5: 0123456789abcdef0123456789abcdef }\n  - { number: 20a }\noperators:\n  position: 201\n  accounts:\n    - { user: op1 }\n    - { user: 202, password: y }\n";
    assert_eq!(
        problems(yaml),
        [
            "t.yaml:2:29: `ha1_md5` is not a valid hash; expected 32 hexadecimal characters (H(user:realm:password)), found 3 characters",
            "t.yaml:3:20: give either `password` or `ha1_md5`/`ha1_sha256`, not both",
            "t.yaml:4:15: invalid extension number `20a`; expected digits only, such as `201`",
            "t.yaml:6:13: the operator position `201` is also an extension (line 2)",
            "t.yaml:8:7: operator `op1` has no `password` (or `ha1_md5`/`ha1_sha256`)",
            "t.yaml:9:15: operator user `202` is also an extension number (line 3)",
        ]
    );
}

#[test]
fn ha1_credentials_load() {
    let md5 = "0123456789ABCDEF0123456789abcdef";
    let yaml = format!("extensions:\n  - {{ number: 201, ha1_md5: {md5} }}\n");
    let plan =
        load_str(&yaml, "t.yaml", Path::new("/p"), &AnyPrompt).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(
        plan.account("201").map(|a| a.credential.clone()),
        Some(dialplan::Credential::Ha1 {
            md5: Some(md5.to_lowercase()),
            sha256: None
        })
    );
    assert!(plan.weak_credentials().is_empty());
}

#[test]
fn duplicate_keys_range_overlap_and_feature_codes() {
    let yaml = "settings: {}\nsettings: {}\nextensions:\n  - { number: 8105 }\nranges:\n  - { numbers: 8101-8110 }\nfeatures:\n  operator_pause: \"*28\"\n  operator_unpause: 45\n";
    assert_eq!(
        problems(yaml),
        [
            "t.yaml:2:1: duplicate key `settings` in the dialplan (first given at line 1)",
            "t.yaml:6:16: duplicate extension `8105`: this range includes a number already defined at line 4",
            "t.yaml:8:19: feature code `*28` is already used by `toggle_attendant_mode`",
        ]
    );
}

#[test]
fn a_missing_prompt_directory_is_one_problem() {
    let yaml = "prompts:\n  directory: nowhere\nmenus:\n  main:\n    greeting: welcome\nentry:\n  outside_callers: { menu: main }\n";
    let got: Vec<String> =
        match load_str(yaml, "t.yaml", Path::new("/nonexistent-dir"), &FileExists) {
            Ok(_) => Vec::new(),
            Err(d) => d
                .iter()
                .map(|d| format!("{}:{}: {}", d.line, d.column, d.message))
                .collect(),
        };
    assert_eq!(
        got,
        ["1:1: the prompt directory /nonexistent-dir/nowhere cannot be used: no such directory"]
    );
}

#[test]
fn vip_callers_must_be_numbers_listed_once() {
    let got = problems(
        "operators:\n  vip_callers: [\"+4930123\", \"boss\", \"+4930123\"]\n  accounts: []\n",
    );
    assert_eq!(
        got,
        [
            "t.yaml:2:29: invalid VIP caller number `boss`; expected digits, optionally after a `+`, such as `+4930123456`",
            "t.yaml:2:37: VIP caller `+4930123` is listed twice",
        ]
    );
}
