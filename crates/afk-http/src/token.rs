//! The token in hand: the first one fetched from a [`Refresher`] (a GitHub
//! App's installation token) when the first request goes out, and the tick's
//! one exchange when it is refused (401).

use crate::failure::{Failure, Reason};
use crate::http::{Http, Refresher};
use anyhow::Result;

impl Http {
    /// On a 401, ask `r` for a new token once per tick and send again.
    pub fn set_refresher(&mut self, r: std::sync::Arc<dyn Refresher>) {
        self.refresher = Some(r);
    }

    /// The token in hand (git's password for an app's installation); never printed.
    pub fn token(&self) -> Result<String> {
        self.start()?;
        let auth = self.auth.read().unwrap();
        Ok(auth.strip_prefix(self.scheme).unwrap_or(&auth).to_string())
    }

    /// Fetch the first token from the refresher when no request has yet.
    pub(crate) fn start(&self) -> Result<()> {
        let Some(r) = &self.refresher else {
            return Ok(());
        };
        let mut g = self.renewal.lock().unwrap();
        if !g.started {
            let token = r.initial()?;
            *self.auth.write().unwrap() = format!("{}{}", self.scheme, token.expose());
            g.started = true;
        }
        Ok(())
    }

    /// A request sent with token generation `sent` was refused (401): true
    /// when it may be sent again (another request refreshed the token, or
    /// this one did: the tick's one exchange), false when the tick fails.
    pub(crate) fn renew(&self, sent: u64) -> Result<bool> {
        use afk_wire::app_token::{OnRefused, on_refused};
        let Some(r) = &self.refresher else {
            return Ok(false);
        };
        // held through the exchange: requests refused meanwhile wait, then resend
        let mut g = self.renewal.lock().unwrap();
        match on_refused(sent, g.generation, g.exchanged) {
            OnRefused::Resend => Ok(true),
            OnRefused::Fail => Ok(false),
            OnRefused::Exchange => {
                g.exchanged = true;
                afk_host::log::debug(
                    "forge: the installation token was refused (401); exchanging a new one once",
                );
                let token = r.refresh()?;
                *self.auth.write().unwrap() = format!("{}{}", self.scheme, token.expose());
                g.generation += 1;
                Ok(true)
            }
        }
    }

    /// A GitHub App's fresh token refused too: the tick's one exchange is spent.
    pub(crate) fn refused_again(&self, method: &str, path: &str) -> anyhow::Error {
        self.failed(
            method,
            path,
            Some(401),
            "the GitHub App's installation token was refused again after a fresh exchange this tick".into(),
            Failure::answered(401),
            Some(Reason::AppTokenRefusedAgain),
        )
    }
}
