//! Background music on paging group 7100 with real phones: the operator's override from the
//! command line (`switchboard music 7100 on|off|schedule`) makes the member phones (baresip,
//! answering by themselves) play the music-on-hold class, and stops it; the groups' state, the
//! stored override and the log book say what happened.
// The waits for calls are bounded by wall-clock deadlines.
#![allow(clippy::disallowed_methods)]

mod hotel_support;

use hotel_support::{
    CHUNK_SECONDS, EVENT_TIMEOUT, api_expect, auto_phone, cli_ok, heard_by, hotel_server, logbook,
    prompt,
};
use std::time::Duration;
use switchboard_e2e::similarity;

/// Group 7100 with background music of the `default` class and no schedule: it plays only
/// when an operator turns it on.
const MUSIC: (&str, &str) = (
    "    members: [201, 202, 203]\n",
    "    members: [201, 202, 203]\n    background_music:\n      music_on_hold: default\n",
);

#[test]
fn the_operator_turns_the_background_music_on_and_off() {
    let server = hotel_server(&[MUSIC]);
    let members: Vec<_> = ["202", "203"]
        .into_iter()
        .map(|ext| {
            let (phone, _) = auto_phone(&server, ext, ext.parse().unwrap(), 60.0);
            (ext, phone)
        })
        .collect();
    let groups = api_expect(&server, "GET", "/api/paging", "", 200);
    assert_eq!(groups[0]["number"], "7100", "{groups:#}");
    assert_eq!(
        groups[0]["playing"], false,
        "silent without a schedule: {groups:#}"
    );

    let out = cli_ok(&server, &["music", "7100", "on"]);
    println!("switchboard music 7100 on: {out}");
    for (ext, phone) in &members {
        phone
            .wait_event("CALL_ESTABLISHED", EVENT_TIMEOUT)
            .unwrap_or_else(|e| panic!("{ext} did not get the music: {e}"));
    }
    let groups = api_expect(&server, "GET", "/api/paging", "", 200);
    assert_eq!(groups[0]["playing"], true, "{groups:#}");
    assert_eq!(groups[0]["override"], "on", "{groups:#}");
    // Let the members hear several seconds of it.
    std::thread::sleep(Duration::from_secs(6));

    cli_ok(&server, &["music", "7100", "off"]);
    for (ext, phone) in &members {
        phone
            .wait_event("CALL_CLOSED", EVENT_TIMEOUT)
            .unwrap_or_else(|e| panic!("the music to {ext} did not stop: {e}"));
    }
    let music = prompt("moh/default/soft_chords.wav");
    for (ext, phone) in &members {
        let heard = heard_by(phone);
        let found = similarity(&music, &heard, CHUNK_SECONDS);
        println!("music in {ext}'s recording: {found}");
        assert!(
            found.matched >= 6,
            "{ext} should have heard the music for several seconds: {found}"
        );
    }
    let groups = api_expect(&server, "GET", "/api/paging", "", 200);
    assert_eq!(groups[0]["playing"], false, "{groups:#}");
    assert_eq!(groups[0]["override"], "off", "{groups:#}");
    let listed = cli_ok(&server, &["music"]);
    assert!(listed.contains("7100"), "{listed}");

    cli_ok(&server, &["music", "7100", "schedule"]);
    let groups = api_expect(&server, "GET", "/api/paging", "", 200);
    assert_eq!(groups[0]["override"], "schedule", "{groups:#}");
    let entries = logbook(&server);
    let music: Vec<_> = entries
        .iter()
        .filter(|e| e["kind"] == "music" && e["subject"] == "7100")
        .collect();
    assert_eq!(music.len(), 3, "on, off, schedule: {entries:#?}");
    assert!(music.iter().all(|e| e["by"] == "cli"), "{music:#?}");
}
