//! The server's side of the core loop: the PBX and its SIP endpoint with
//! where their work goes (the socket tasks, the media thread, the store task),
//! as a [`pbx::Driver`], and the admin API's questions and commands.

use crate::directory::pbx_config;
use crate::http::{
    AdminRequest, CallView, ModeView, OriginateFailure, OriginateRequest, QueueView,
    RegistrationView,
};
use crate::media_io::MediaRequest;
use crate::sip_io::Transports;
use crate::store_io::StoreRequest;
use crate::{prompt_check, wall_ms};
use media::MediaEvent;
use pbx::{Output, Pbx, PlanDirectory};
use sip::endpoint::{Endpoint, Transmit};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};

/// The PBX, its endpoint, and the channels its work goes out on.
pub struct Core {
    pub pbx: Pbx,
    pub ep: Endpoint,
    pub transports: Transports,
    pub media: mpsc::UnboundedSender<MediaRequest>,
    pub store: mpsc::UnboundedSender<StoreRequest>,
    pub public_ip: IpAddr,
    pub sip_addrs: Vec<SocketAddr>,
    pub dialplan: PathBuf,
    pub ringback: Arc<media::prompt::Prompt>,
}

impl pbx::Driver for Core {
    fn parts(&mut self) -> (&mut Pbx, &mut Endpoint) {
        (&mut self.pbx, &mut self.ep)
    }

    fn now(&mut self) -> (Instant, i64) {
        (now_std(), wall_ms())
    }

    fn output(&mut self, output: Output) {
        match output {
            Output::OpenRtp { leg, port } => {
                let _ = self.media.send(MediaRequest::Open { leg, port });
            }
            Output::CloseRtp { leg } => {
                let _ = self.media.send(MediaRequest::Close { leg });
            }
            Output::Media(cmd) => {
                let _ = self.media.send(MediaRequest::Command(cmd));
            }
            Output::Persist { changes, then } => {
                let _ = self.store.send(StoreRequest::Persist {
                    changes,
                    then,
                    now_ms: wall_ms(),
                });
            }
            Output::Event(event) => {
                let _ = self.store.send(StoreRequest::Event {
                    event,
                    now_ms: wall_ms(),
                });
            }
        }
    }

    fn transmit(&mut self, transmit: Transmit) {
        self.transports.send(transmit);
    }

    /// Media events come in through the core loop's own channel, one per turn.
    fn media_event(&mut self) -> Option<MediaEvent> {
        None
    }
}

impl Core {
    /// Moves every pending output to where it goes (the loop is [`pbx::drain`]).
    pub fn drain(&mut self) {
        pbx::drain(self);
    }

    fn mode_view(&self) -> ModeView {
        ModeView {
            mode: self
                .pbx
                .current_mode(wall_ms())
                .map(|m| Pbx::mode_name(m).to_string()),
            override_mode: self
                .pbx
                .mode_override()
                .map(|m| Pbx::mode_name(m).to_string()),
        }
    }

    pub fn reload(&mut self) -> Result<(), String> {
        match prompt_check::load(&self.dialplan) {
            Ok(loaded) => {
                let (attendant, moh) = attendant(loaded);
                let plan = attendant.plan.clone();
                let previous = self.pbx.plan();
                for change in crate::number_changes::between(previous.as_deref(), &plan) {
                    tracing::info!(number = %change.subject, change = %change.detail, "numbering changed");
                    let _ = self.store.send(StoreRequest::Log {
                        actor: "dialplan".into(),
                        kind: store::LogKind::NumberChange,
                        subject: change.subject,
                        detail: change.detail,
                        at_ms: wall_ms(),
                    });
                }
                define_moh(&self.media, moh, &self.ringback);
                self.pbx.reconfigure(
                    pbx_config(&plan, self.public_ip, &self.sip_addrs),
                    Arc::new(PlanDirectory(plan)),
                );
                self.pbx.set_attendant(attendant);
                self.pbx.check_music(now_std(), wall_ms(), &mut self.ep);
                tracing::info!(file = %self.dialplan.display(), "dialplan reloaded; new calls use it, calls in progress are unaffected");
                Ok(())
            }
            Err(problems) => {
                tracing::error!(file = %self.dialplan.display(), problems = %problems, "dialplan refused; the previous one keeps serving");
                Err(problems)
            }
        }
    }

    pub fn admin(&mut self, req: AdminRequest) {
        match req {
            AdminRequest::Registrations(reply) => {
                let now = wall_ms();
                let views = self
                    .pbx
                    .all_bindings(now)
                    .into_iter()
                    .map(|b| RegistrationView {
                        aor: b.aor.clone(),
                        contact: b.contact.clone(),
                        source: b.source.addr.to_string(),
                        transport: b.source.transport.as_str().to_string(),
                        expires_in: (b.expires_at_ms - now) / 1000,
                        user_agent: b.user_agent.clone(),
                    })
                    .collect();
                let _ = reply.send(views);
            }
            AdminRequest::Calls(reply) => {
                let views = self
                    .pbx
                    .call_summaries()
                    .into_iter()
                    .map(|c| CallView {
                        id: c.key.0,
                        caller: c.caller,
                        callee: c.callee,
                        state: c.state.as_str().to_string(),
                        started_at_ms: c.started_ms,
                    })
                    .collect();
                let _ = reply.send(views);
            }
            AdminRequest::Queue(reply) => {
                let now_ms = wall_ms();
                let snapshot = self.pbx.queue_snapshot(now_std(), now_ms);
                let _ = reply.send(QueueView::new(now_ms, &snapshot));
            }
            AdminRequest::Reload(reply) => {
                let _ = reply.send(self.reload());
            }
            AdminRequest::Mode(reply) => {
                let _ = reply.send(self.mode_view());
            }
            AdminRequest::SetMode(mode, reply) => {
                self.pbx.override_mode(mode);
                tracing::info!(mode = ?mode, "attendant mode override set from the admin API");
                let _ = reply.send(self.mode_view());
            }
            AdminRequest::Originate(req, reply) => self.originate(req, reply),
            AdminRequest::Plan(reply) => {
                let _ = reply.send(self.pbx.plan());
            }
            AdminRequest::CheckForward {
                number,
                target,
                reply,
            } => {
                let answer = match self.pbx.plan() {
                    Some(plan) => {
                        pbx::hotel::check_forward(&plan, self.pbx.hotel(), &number, &target)
                            .map_err(|why| why.to_string())
                    }
                    None => Err("no dialplan is loaded".into()),
                };
                let _ = reply.send(answer);
            }
            AdminRequest::Hotel(update, reply) => {
                self.pbx.update_hotel(update);
                let _ = reply.send(());
            }
            AdminRequest::Music(reply) => {
                let _ = reply.send(self.pbx.music_status(wall_ms()));
            }
            AdminRequest::SetMusic {
                group,
                on,
                by,
                reply,
            } => {
                let answer = self.pbx.set_music_override(
                    now_std(),
                    wall_ms(),
                    &mut self.ep,
                    &group,
                    on,
                    &by,
                );
                let _ = reply.send(answer);
            }
        }
    }

    /// Places the call `POST /api/originate` asked for and answers with its number, or with the
    /// status and message of the reason it was not placed.
    fn originate(
        &mut self,
        req: OriginateRequest,
        reply: oneshot::Sender<Result<u64, OriginateFailure>>,
    ) {
        let target = req.target.clone();
        let result = match self.pbx.originate(
            now_std(),
            wall_ms(),
            &mut self.ep,
            pbx::Originate::from(req),
        ) {
            Ok(call) => {
                tracing::info!(call = call.0, %target, "placing a call (admin API)");
                Ok(call.0)
            }
            Err(e) => {
                tracing::info!(%target, error = %e, "call not placed (admin API)");
                Err(OriginateFailure::from(&e))
            }
        };
        let _ = reply.send(result);
    }
}

/// The attendant for a loaded plan, and its music-on-hold classes.
pub fn attendant(
    loaded: prompt_check::LoadedPlan,
) -> (pbx::Attendant, Vec<media::prompt::MohClass>) {
    let music = loaded.moh.iter().cloned().collect();
    let a = pbx::Attendant {
        plan: Arc::new(loaded.plan),
        prompts: Arc::new(loaded.prompts),
        music: Arc::new(music),
    };
    (a, loaded.moh)
}

/// Gives the media engine the music-on-hold classes and the ringback tone.
pub fn define_moh(
    media: &mpsc::UnboundedSender<MediaRequest>,
    moh: Vec<media::prompt::MohClass>,
    ringback: &Arc<media::prompt::Prompt>,
) {
    for (class, prompts) in moh {
        let _ = media.send(MediaRequest::Command(media::MediaCommand::DefineMoh {
            class,
            prompts,
        }));
    }
    let _ = media.send(MediaRequest::Command(media::MediaCommand::DefineMoh {
        class: pbx::RINGBACK_CLASS.into(),
        prompts: vec![ringback.clone()],
    }));
}

#[allow(clippy::disallowed_methods)]
pub fn now_std() -> std::time::Instant {
    std::time::Instant::now()
}
