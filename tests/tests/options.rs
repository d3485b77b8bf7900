//! OPTIONS to the server: 200 with Allow, and a Server/User-Agent header without a version number.

use std::time::Duration;
use switchboard_e2e::{
    Server, ServerOptions, SipResponse, Sipp, Transport, options_tcp, options_udp,
};

fn check_options_response(response: &SipResponse) {
    assert_eq!(
        response.status, 200,
        "expected 200 to OPTIONS, got:\n{}",
        response.raw
    );
    let allow = response
        .header("Allow")
        .unwrap_or_else(|| panic!("200 to OPTIONS lacks Allow:\n{}", response.raw));
    for method in ["INVITE", "ACK", "BYE", "CANCEL", "OPTIONS"] {
        assert!(allow.contains(method), "Allow `{allow}` lacks {method}");
    }
    for name in ["Server", "User-Agent"] {
        if let Some(product) = response.header(name) {
            assert!(
                !product.chars().any(|c| c.is_ascii_digit()),
                "{name} header `{product}` reveals a version number"
            );
        }
    }
}

#[test]
fn options_over_udp_and_tcp_get_200_with_allow_and_no_version() {
    let server = Server::start(ServerOptions::new()).unwrap();
    let udp = options_udp(server.sip_addr(), Duration::from_secs(5))
        .unwrap()
        .expect("no answer to OPTIONS over UDP");
    check_options_response(&udp);
    let tcp = options_tcp(server.sip_addr(), Duration::from_secs(5)).unwrap();
    check_options_response(&tcp);
    for transport in [Transport::Udp, Transport::Tcp] {
        Sipp::new("options")
            .unwrap()
            .remote(server.sip_addr())
            .transport(transport)
            .timeout(Duration::from_secs(15))
            .run()
            .unwrap()
            .expect_success()
            .unwrap();
    }
}
