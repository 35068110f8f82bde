//! Who armed a work item and whether afk trusts them: the login a person has
//! (their `uniqueName`, else their id; afk's own account's login only by its
//! id), the three identities of the arming revision agree (by id), the armer
//! is an active user (a service principal, a build service, any other
//! non-user identity and a holder of `BYPASS_RULES` is trusted only when
//! named), and the permission is the ACL's effective bits, deny winning.

use afk_model::Access;

/// The descriptor type of a person (Entra ID or Microsoft account).
const USER_DESCRIPTOR: &str = "Microsoft.IdentityModel.Claims.ClaimsIdentity";
const SERVICE_PRINCIPAL: &str = "Microsoft.VisualStudio.Services.Claims.AadServicePrincipal";
const BUILD_SERVICE: &str = "Microsoft.TeamFoundation.ServiceIdentity";

/// What kind of identity a descriptor (`<type>;<id>`) names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityKind {
    User,
    ServicePrincipal,
    BuildService,
    /// a group, or any type that is not a person's
    Other,
}

impl IdentityKind {
    pub fn of(descriptor: &str) -> IdentityKind {
        let kind = descriptor.split(';').next().unwrap_or("").trim();
        if kind.eq_ignore_ascii_case(USER_DESCRIPTOR) {
            IdentityKind::User
        } else if kind.eq_ignore_ascii_case(SERVICE_PRINCIPAL) {
            IdentityKind::ServicePrincipal
        } else if kind.eq_ignore_ascii_case(BUILD_SERVICE) {
            IdentityKind::BuildService
        } else {
            IdentityKind::Other
        }
    }
}

/// The armer of a revision: `revisedBy`, when the revision's
/// `System.ChangedBy` and `System.AuthorizedAs` are the same identity (by
/// id, case-insensitively); else why not, as the report says it
/// ("changed by X, authorized as Y"). An absent `AuthorizedAs` is untrusted.
pub fn armer(
    revised_by: &str,
    changed_by: Option<&str>,
    authorized_as: Option<&str>,
    // Err is a string: the skip's reason, shown to the operator as it is
) -> Result<String, String> {
    let changed = changed_by.unwrap_or("");
    let Some(authorized) = authorized_as.filter(|a| !a.trim().is_empty()) else {
        return Err(format!("changed by {changed}, authorized as nobody"));
    };
    let same = |a: &str, b: &str| !a.trim().is_empty() && a.trim().eq_ignore_ascii_case(b.trim());
    if same(revised_by, changed) && same(changed, authorized) {
        Ok(revised_by.trim().to_string())
    } else {
        Err(format!("changed by {changed}, authorized as {authorized}"))
    }
}

/// Whether `s` is written as a GUID (`8-4-4-4-12` hex digits), as an
/// identity's id is.
pub fn is_guid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// The login afk gives an identity: its `uniqueName` as the service writes
/// it (people know it; comparisons ignore case), when that can name no
/// other identity: one word, without whitespace or control characters, at
/// most 256 characters, and not written as a GUID unless it is the
/// identity's own id (a login written as a GUID is an id). Else its id.
pub fn login(id: &str, unique_name: Option<&str>) -> String {
    let usable = |u: &&str| {
        !u.is_empty()
            && u.chars().count() <= 256
            && !u.chars().any(|c| c.is_whitespace() || c.is_control())
            && (!is_guid(u) || u.eq_ignore_ascii_case(id.trim()))
    };
    match unique_name.filter(usable) {
        Some(u) => u.to_string(),
        None => id.trim().to_string(),
    }
}

/// [`login`] beside afk's own account (`afk_id`, whose login is
/// `afk_login`): the account, by id, always has afk's login, and no other
/// identity ever has it (one whose `uniqueName` is afk's gets its id; one
/// whose id is written as afk's login, nothing). So whatever compares a
/// login with afk's compares identity ids.
pub fn login_beside_afk(
    id: &str,
    unique_name: Option<&str>,
    afk_id: &str,
    afk_login: &str,
) -> String {
    let id = id.trim();
    if !id.is_empty() && id.eq_ignore_ascii_case(afk_id.trim()) {
        return afk_login.to_string();
    }
    let own = login(id, unique_name);
    if own.is_empty() || !own.eq_ignore_ascii_case(afk_login) {
        own
    } else if !id.eq_ignore_ascii_case(afk_login) {
        id.to_string()
    } else {
        String::new()
    }
}

/// Whether permission `bit` is the identity's: set in `effectiveAllow` and
/// clear in `effectiveDeny` (deny wins); a bit of 0 is never held.
pub fn holds(effective_allow: i64, effective_deny: i64, bit: i64) -> bool {
    bit != 0 && effective_allow & bit == bit && effective_deny & bit == 0
}

/// The holders of permission `bit` among an ACL's entries, each
/// `(descriptor, effectiveAllow, effectiveDeny)`: those that [`holds`] it,
/// in the entries' order.
pub fn holders(entries: &[(String, i64, i64)], bit: i64) -> Vec<&str> {
    entries
        .iter()
        .filter(|(_, allow, deny)| holds(*allow, *deny, bit))
        .map(|(d, _, _)| d.as_str())
        .collect()
}

/// The Project namespace's token of project `project_id` (where
/// `BYPASS_RULES` is held).
pub fn project_token(project_id: &str) -> String {
    format!("$PROJECT:vstfs:///Classification/TeamProject/{project_id}")
}

/// The Git Repositories actions each level needs, by name from the
/// namespace's `actions` (never constants): `GenericRead`,
/// `GenericContribute`, `ManagePermissions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Bits {
    pub read: i64,
    pub contribute: i64,
    pub manage: i64,
}

impl Bits {
    /// The bits from the namespace's `(name, bit)` actions; None when one is missing.
    pub fn from_actions<'a>(actions: impl IntoIterator<Item = (&'a str, i64)>) -> Option<Bits> {
        let (mut r, mut c, mut m) = (None, None, None);
        for (name, bit) in actions {
            match name {
                "GenericRead" => r = Some(bit),
                "GenericContribute" => c = Some(bit),
                "ManagePermissions" => m = Some(bit),
                _ => {}
            }
        }
        Some(Bits {
            read: r?,
            contribute: c?,
            manage: m?,
        })
    }
}

/// What afk knows of the armer when it ranks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Armer {
    pub kind: IdentityKind,
    /// `isActive`
    pub active: bool,
    /// holds the Project namespace's `BYPASS_RULES` (can write revisions in
    /// another's name): trusted only when named
    pub bypass: bool,
}

/// The armer's rank on the repository: none for an inactive identity, a
/// non-user, a bypass holder or no ACL entry (`acl` None); else the highest
/// level whose bit the effective `(allow, deny)` holds.
pub fn access(who: Armer, acl: Option<(i64, i64)>, bits: Bits) -> Access {
    if !who.active || who.kind != IdentityKind::User || who.bypass {
        return Access::None;
    }
    let Some((allow, deny)) = acl else {
        return Access::None;
    };
    if holds(allow, deny, bits.manage) {
        Access::Admin
    } else if holds(allow, deny, bits.contribute) {
        Access::Write
    } else if holds(allow, deny, bits.read) {
        Access::Read
    } else {
        Access::None
    }
}

/// Whether `trusted_users` names the identity: its id (a GUID) or its
/// `uniqueName` (UPN), case-insensitively; display names never count.
pub fn named(trusted_users: &[String], id: &str, unique_name: &str) -> bool {
    trusted_users.iter().any(|e| {
        let e = e.trim();
        !e.is_empty()
            && (e.eq_ignore_ascii_case(id.trim()) || e.eq_ignore_ascii_case(unique_name.trim()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (revisedBy, System.ChangedBy, System.AuthorizedAs, the armer or the report's words)
    #[test]
    fn the_armer_is_trusted_only_when_the_three_identities_agree() {
        let cases = [
            ("a", Some("a"), Some("a"), Ok("a".to_string())),
            ("a", Some("A"), Some("a"), Ok("a".to_string())),
            (
                "a",
                Some("a"),
                Some("b"),
                Err("changed by a, authorized as b".to_string()),
            ),
            (
                "a",
                Some("a"),
                None,
                Err("changed by a, authorized as nobody".to_string()),
            ),
            (
                "a",
                Some("b"),
                Some("b"),
                Err("changed by b, authorized as b".to_string()),
            ),
            (
                "",
                Some(""),
                Some(""),
                Err("changed by , authorized as nobody".to_string()),
            ),
        ];
        for (rev, changed, auth, want) in cases {
            assert_eq!(
                armer(rev, changed, auth),
                want,
                "{rev} {changed:?} {auth:?}"
            );
        }
    }

    /// (id, uniqueName, the login)
    #[test]
    fn a_login_is_the_unique_name_when_it_names_no_one_else_else_the_id() {
        let id = "7b96e7cc-6dfc-fe19-a009-e0b8f313c9ba";
        let other = "a56507fd-0000-4000-8000-000000000001";
        let cases = [
            (id, Some("Alice@Example.org"), "Alice@Example.org"),
            (id, None, id),
            (id, Some(""), id),
            (id, Some("Project Collection Build Service (fabrikam)"), id),
            (id, Some(" alice@example.org"), id),
            (id, Some("alice\u{7}@example.org"), id),
            (id, Some(other), id),
            (
                id,
                Some("7B96E7CC-6DFC-FE19-A009-E0B8F313C9BA"),
                "7B96E7CC-6DFC-FE19-A009-E0B8F313C9BA",
            ),
            ("", Some("alice@example.org"), "alice@example.org"),
            ("", None, ""),
        ];
        for (id, unique, want) in cases {
            assert_eq!(login(id, unique), want, "{id} {unique:?}");
        }
        let long = "a".repeat(257);
        assert_eq!(login(id, Some(long.as_str())), id);
        assert!(is_guid(id) && is_guid(&id.to_uppercase()));
        assert!(
            !is_guid("alice@example.org") && !is_guid(&id[1..]) && !is_guid(&id.replace('-', "0"))
        );
    }

    /// (id, uniqueName, the login beside afk's account)
    #[test]
    fn only_afk_s_account_by_id_has_afk_s_login() {
        let afk = "0b8c61b4-7a3f-4c1e-9d2a-1f2e3d4c5b6a";
        let other = "a56507fd-0000-4000-8000-000000000001";
        let upper = afk.to_uppercase();
        let cases = [
            (afk, Some("afk@example.org"), "afk@example.org"),
            (upper.as_str(), None, "afk@example.org"),
            (other, Some("alice@example.org"), "alice@example.org"),
            (other, Some("AFK@example.org"), other),
            ("afk@example.org", Some("afk@example.org"), ""),
            ("", Some("afk@example.org"), ""),
            ("", None, ""),
        ];
        for (id, unique, want) in cases {
            assert_eq!(
                login_beside_afk(id, unique, afk, "afk@example.org"),
                want,
                "{id} {unique:?}"
            );
        }
        // afk's login is its id when it has no usable uniqueName: an identity
        // whose uniqueName is that id keeps its own
        assert_eq!(login_beside_afk(other, Some(afk), afk, afk), other);
    }

    /// (effectiveAllow, effectiveDeny, the bit, held)
    #[test]
    fn an_acl_bit_is_held_when_allowed_and_not_denied_deny_wins() {
        let cases = [
            (4, 0, 4, true),
            (6, 4, 4, false),
            (0, 0, 4, false),
            (4, 2, 4, true),
            (4, 0, 0, false),
        ];
        for (allow, deny, bit, want) in cases {
            assert_eq!(holds(allow, deny, bit), want, "{allow} {deny} {bit}");
        }
        // the holders of an ACL: each entry that holds the bit, deny winning
        let entries: [(String, i64, i64); 4] = [
            ("admins".to_string(), 1 | 1048576, 0),
            ("readers".to_string(), 1, 0),
            ("denied".to_string(), 1048576, 1048576),
            ("mallory".to_string(), 1048576 | 2, 2),
        ];
        assert_eq!(holders(&entries, 1048576), ["admins", "mallory"]);
        assert!(holders(&entries, 0).is_empty());
        assert_eq!(
            project_token("p-1"),
            "$PROJECT:vstfs:///Classification/TeamProject/p-1"
        );
    }

    #[test]
    fn the_armer_s_rank_is_the_acl_s_and_only_an_active_user_s() {
        let bits = Bits {
            read: 2,
            contribute: 4,
            manage: 8192,
        };
        let user = Armer {
            kind: IdentityKind::User,
            active: true,
            bypass: false,
        };
        let cases = [
            (user, Some((2 | 4, 0)), Access::Write),
            (user, Some((2 | 4 | 8192, 0)), Access::Admin),
            (user, Some((2 | 4, 4)), Access::Read),
            (user, Some((0, 0)), Access::None),
            (user, None, Access::None),
            (
                Armer {
                    active: false,
                    ..user
                },
                Some((6, 0)),
                Access::None,
            ),
            (
                Armer {
                    bypass: true,
                    ..user
                },
                Some((6, 0)),
                Access::None,
            ),
            (
                Armer {
                    kind: IdentityKind::ServicePrincipal,
                    ..user
                },
                Some((6, 0)),
                Access::None,
            ),
            (
                Armer {
                    kind: IdentityKind::BuildService,
                    ..user
                },
                Some((6, 0)),
                Access::None,
            ),
        ];
        for (who, acl, want) in cases {
            assert_eq!(access(who, acl, bits), want, "{who:?} {acl:?}");
        }
    }

    #[test]
    fn an_identity_is_named_by_its_id_or_unique_name_never_its_display_name() {
        let users = vec!["Alice@Fabrikam.com".to_string(), "0b8c-guid".to_string()];
        assert!(named(&users, "x", "alice@fabrikam.com"));
        assert!(named(&users, "0B8C-GUID", "bob@fabrikam.com"));
        assert!(!named(&users, "y", "Alice Smith"));
        let kinds = [
            (
                "Microsoft.IdentityModel.Claims.ClaimsIdentity;t\\a@f.com",
                IdentityKind::User,
            ),
            (
                "Microsoft.VisualStudio.Services.Claims.AadServicePrincipal;x",
                IdentityKind::ServicePrincipal,
            ),
            (
                "Microsoft.TeamFoundation.ServiceIdentity;x",
                IdentityKind::BuildService,
            ),
            (
                "Microsoft.TeamFoundation.Identity;S-1-9",
                IdentityKind::Other,
            ),
        ];
        for (d, want) in kinds {
            assert_eq!(IdentityKind::of(d), want, "{d}");
        }
        assert_eq!(
            Bits::from_actions([
                ("GenericRead", 2),
                ("GenericContribute", 4),
                ("ManagePermissions", 8192)
            ]),
            Some(Bits {
                read: 2,
                contribute: 4,
                manage: 8192
            })
        );
        assert_eq!(Bits::from_actions([("GenericRead", 2)]), None);
    }
}
