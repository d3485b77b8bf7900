//! The SIP ladder of whole calls, message by message, as the network saw
//! it: a snapshot of the B2BUA's wire behaviour that any change to call
//! setup or tear-down has to update deliberately.

mod support;

use support::World;

#[test]
fn ladder_of_an_extension_call() {
    let mut w = World::with_default_plan();
    let p201 = w.add_phone("201", "201", "201", "secret201", "10.0.0.21:5060", 4000);
    let p202 = w.add_phone("202", "202", "202", "secret202", "10.0.0.22:5060", 6000);
    w.register(p201);
    w.register(p202);
    w.take_ladder();

    let call = w.call(p201, "202");
    let inc = w.expect_invite(p202);
    w.respond(&inc, 180);
    w.settle();
    let mut b = w.answer(&inc);
    let ok = w.take_final(p201, call.tx);
    let mut a = w.ack(&call, &ok);
    w.expect_ack(p202);
    w.bye(&mut a);
    w.expect_bye(&mut b);
    assert_eq!(
        w.take_ladder(),
        [
            "201>pbx INVITE sip:202@10.0.0.1:5060",
            "pbx>201 100 INVITE",
            "pbx>201 407 INVITE",
            "201>pbx ACK sip:202@10.0.0.1:5060",
            "201>pbx INVITE sip:202@10.0.0.1:5060",
            "pbx>201 100 INVITE",
            "pbx>202 INVITE sip:202@10.0.0.22:5060",
            "202>pbx 100 INVITE",
            "202>pbx 180 INVITE",
            "pbx>201 180 INVITE",
            "202>pbx 200 INVITE",
            "pbx>202 ACK sip:202@10.0.0.22:5060",
            "pbx>201 200 INVITE",
            "201>pbx ACK sip:202@203.0.113.5:5060",
            "201>pbx BYE sip:202@203.0.113.5:5060",
            "pbx>201 200 BYE",
            "pbx>202 BYE sip:202@10.0.0.22:5060",
            "202>pbx 200 BYE",
        ]
    );
}

#[test]
fn ladder_of_an_attendant_call() {
    let mut w = World::with_default_plan();
    let desk = w.add_phone("201", "201", "201", "secret201", "10.0.0.21:5060", 4000);
    w.register(desk);
    let guest = w.add_guest("5551234", "192.0.2.50:5060", 7000);
    w.take_ladder();

    let call = w.invite(guest, "1000");
    let ok = w.take_final(guest, call.tx);
    let mut g = w.ack(&call, &ok);
    let a = w.leg_towards(w.rtp_of(guest));
    for digit in ['2', '0', '1'] {
        w.press(guest, digit);
    }
    w.play_out(a);
    let inc = w.expect_invite(desk);
    w.respond(&inc, 180);
    let mut d = w.answer(&inc);
    w.expect_ack(desk);
    w.bye(&mut d);
    w.expect_bye(&mut g);
    assert_eq!(
        w.take_ladder(),
        [
            "5551234>pbx INVITE sip:1000@10.0.0.1:5060",
            "pbx>5551234 100 INVITE",
            "pbx>5551234 200 INVITE",
            "5551234>pbx ACK sip:1000@203.0.113.5:5060",
            "pbx>201 INVITE sip:201@10.0.0.21:5060",
            "201>pbx 100 INVITE",
            "201>pbx 180 INVITE",
            "201>pbx 200 INVITE",
            "pbx>201 ACK sip:201@10.0.0.21:5060",
            "201>pbx BYE sip:5551234@203.0.113.5:5060",
            "pbx>201 200 BYE",
            "pbx>5551234 BYE sip:5551234@192.0.2.50:5060",
            "5551234>pbx 200 BYE",
        ]
    );
    assert_eq!(
        w.take_media(),
        [
            "AddLeg 1 remote=192.0.2.50:7000",
            "Play 1 [welcome language_menu dial_extension press_9_information]",
            "StopPlay 1",
            "Play 1 [please_hold]",
            "StartMoh 1 ringback",
            "UpdateRemote 1 remote=192.0.2.50:7000",
            "AddLeg 2 remote=10.0.0.21:4000",
            "StopMoh 1",
            "StopPlay 1",
            "Bridge 1 2",
            "RemoveLeg 1",
            "RemoveLeg 2",
        ]
    );
}
