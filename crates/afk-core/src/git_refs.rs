//! A smart-HTTP ref advertisement (`GET <repo>/info/refs?service=git-upload-pack`,
//! protocol v0/v1), read for one ref: how afk asks an HTTPS upstream where
//! `main` is without spawning `git ls-remote`. The answer is an outside
//! party's: every length is checked, nothing is trusted past the cap.

use crate::types::Invalid;

/// What the advertisement says of `want` (`refs/heads/main`): its commit,
/// None when the repository has no such ref, Err when the answer is not an
/// advertisement (a dumb server, an HTML page, a cut or malformed pkt-line).
pub fn find(advert: &[u8], want: &str) -> Result<Option<String>, Invalid> {
    let mut rest = advert;
    let mut seen_service = false;
    while !rest.is_empty() {
        if rest.len() < 4 {
            return Err("the advertisement ends inside a pkt-line length".into());
        }
        let len = std::str::from_utf8(&rest[..4])
            .ok()
            .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
            .and_then(|h| usize::from_str_radix(h, 16).ok())
            .ok_or("not a smart-HTTP advertisement (no pkt-line length)")?;
        if len == 0 {
            // a flush: after the service line the refs follow, after them the end
            rest = &rest[4..];
            if seen_service {
                continue;
            }
            return Err("a flush before the service line".into());
        }
        if len < 4 || len > rest.len() {
            return Err(Invalid(format!(
                "a pkt-line of {len} bytes does not fit the answer"
            )));
        }
        let line = &rest[4..len];
        rest = &rest[len..];
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        if !seen_service {
            if line != b"# service=git-upload-pack" {
                return Err("not a git-upload-pack advertisement".into());
            }
            seen_service = true;
            continue;
        }
        // `<sha> <ref>` (the first with `\0<capabilities>`)
        let line = line.split(|b| *b == 0).next().unwrap_or(line);
        let text = std::str::from_utf8(line).map_err(|_| "a ref line is not UTF-8")?;
        let Some((sha, name)) = text.split_once(' ') else {
            return Err("a ref line without a name".into());
        };
        let is_sha = matches!(sha.len(), 40 | 64) && sha.bytes().all(|b| b.is_ascii_hexdigit());
        if !is_sha {
            return Err("a ref line without an object id".into());
        }
        if name == want {
            return Ok(Some(sha.to_string()));
        }
    }
    if seen_service {
        Ok(None)
    } else {
        Err("an empty answer".into())
    }
}

#[cfg(test)]
mod tests {
    use super::find;

    fn pkt(s: &str) -> String {
        format!("{:04x}{s}", s.len() + 4)
    }

    #[test]
    fn the_ref_is_read_from_a_well_formed_advertisement_and_nothing_else() {
        let a = "a".repeat(40);
        let b = "b".repeat(40);
        let good = format!(
            "{}0000{}{}{}0000",
            pkt("# service=git-upload-pack\n"),
            pkt(&format!(
                "{a} HEAD\0multi_ack symref=HEAD:refs/heads/main\n"
            )),
            pkt(&format!("{b} refs/heads/dev\n")),
            pkt(&format!("{a} refs/heads/main\n")),
        );
        let no_main = format!(
            "{}0000{}0000",
            pkt("# service=git-upload-pack\n"),
            pkt(&format!("{b} refs/heads/dev\n"))
        );
        let table: Vec<(String, Result<Option<String>, ()>)> = vec![
            (good.clone(), Ok(Some(a.clone()))),
            (no_main, Ok(None)),
            // cut mid-advertisement, before main: the length does not fit
            (good[..good.len() - 20].to_string(), Err(())),
            ("<html>login</html>".into(), Err(())),
            ("".into(), Err(())),
            ("ffff# service=git-upload-pack\n".into(), Err(())),
            (
                format!(
                    "{}0000{}",
                    pkt("# service=git-upload-pack\n"),
                    pkt("main refs/heads/main\n")
                ),
                Err(()),
            ),
            (
                format!("{}0000", pkt("# service=git-receive-pack\n")),
                Err(()),
            ),
            ("0000".into(), Err(())),
            ("0003".into(), Err(())),
        ];
        for (advert, want) in table {
            let got = find(advert.as_bytes(), "refs/heads/main").map_err(|_| ());
            assert_eq!(got, want, "{advert:?}");
        }
    }
}
