//! Every call holds four sockets (RTP and RTCP for each of its two legs), so
//! the default soft limit of open files (1024 on many systems) would silence
//! calls long before `--rtp-ports` runs out. At start the soft limit is raised
//! to the hard limit, and the number of calls it allows is logged.

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

/// Sockets one call needs: RTP and RTCP on both legs.
const SOCKETS_PER_CALL: u64 = 4;
/// File descriptors kept for everything else (SIP, HTTP, database, logs, prompts).
const RESERVED: u64 = 64;

/// Raises the soft open-file limit to the hard one; returns the limit now in force
/// (`None` when it is unlimited).
pub fn raise() -> Option<u64> {
    let limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        let wanted = Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        if let Err(e) = setrlimit(Resource::Nofile, wanted) {
            tracing::warn!(error = %e, soft = ?limit.current, hard = ?limit.maximum, "cannot raise the open-file limit");
        }
    }
    getrlimit(Resource::Nofile).current
}

/// How many concurrent calls `limit` open files allow.
pub fn calls_allowed(limit: u64) -> u64 {
    limit.saturating_sub(RESERVED) / SOCKETS_PER_CALL
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raising_reaches_the_hard_limit() {
        let now = raise();
        let hard = getrlimit(Resource::Nofile).maximum;
        assert_eq!(now, hard);
    }

    #[test]
    fn four_sockets_per_call_after_the_reserve() {
        assert_eq!(calls_allowed(1024), 240);
        assert_eq!(calls_allowed(20_000), 4984);
        assert_eq!(calls_allowed(10), 0);
    }
}
