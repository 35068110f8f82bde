//! Who is who, and who may do what: `connectionData` (the caller), projects,
//! identities at the identity service (`null` for an id it does not know,
//! as the service answers), security namespaces with their action bits,
//! access control lists with each asked descriptor's effective allow and
//! deny (its own entries, its groups', those of the tokens above; a deny
//! wins), the caller's permissions, and the service-hook subscriptions.

use super::git::project_json;
use super::{err, list, org_url, project_of};
use crate::http::{Reply, Request};
use crate::model::Forge;
use crate::model::azure::{Identity, Kind, NAMESPACES, guid, project_id};
use serde_json::{Value, json};

/// An `Identity` as the identity service answers one.
pub(crate) fn identity_json(i: &Identity) -> Value {
    let (provider, schema) = match i.kind {
        Kind::User => (i.name.clone(), "User"),
        Kind::ServicePrincipal => (i.name.clone(), "ServicePrincipal"),
        Kind::BuildService => (i.name.clone(), "ServiceIdentity"),
        Kind::Group => (i.name.clone(), "Group"),
    };
    json!({"id": i.id, "descriptor": i.descriptor(), "subjectDescriptor": i.subject(),
        "providerDisplayName": provider, "isActive": i.active, "isContainer": i.kind == Kind::Group,
        "members": [], "memberOf": [], "memberIds": [], "resourceVersion": 2, "metaTypeId": if i.kind == Kind::User { 0 } else { 255 },
        "properties": {"SchemaClassName": {"$type": "System.String", "$value": schema},
            "Account": {"$type": "System.String", "$value": i.unique_name()},
            "Mail": {"$type": "System.String", "$value": if i.kind == Kind::User { i.unique_name() } else { String::new() }}}})
}

/// `GET _apis/connectionData`: the caller, afk's account.
pub(super) fn connection_data(f: &mut Forge) -> Reply {
    let me = f.me.clone();
    f.az.ensure(&me);
    let me = identity_json(f.az.by_name(&me).expect("afk's identity"));
    Reply::json(
        200,
        &json!({"authenticatedUser": me, "authorizedUser": me, "instanceId": guid("instance"),
            "deploymentId": guid("deployment"), "deploymentType": "hosted",
            "locationServiceData": {"serviceOwner": "00025394-6065-48ca-87d9-7f5672854ef7",
                "defaultAccessMappingMoniker": "PublicAccessMapping", "lastChangeId": 1, "lastChangeId64": 1,
                "accessMappings": [{"displayName": "Public Access Mapping", "moniker": "PublicAccessMapping", "accessPoint": org_url(f)}]}}),
    )
}

/// `GET _apis/projects/{id}`: a `TeamProject`, by id or name.
pub(super) fn project(f: &Forge, id: &str) -> Reply {
    let Some(p) = project_of(f, id) else {
        return err(
            404,
            "ProjectDoesNotExistException",
            &format!("TF200016: The following project does not exist: {id}."),
        );
    };
    let mut v = project_json(f, &p);
    let team = guid(&format!("team:{p}"));
    v["defaultTeam"] = json!({"id": team, "name": format!("{p} Team"), "url": format!("{}/_apis/projects/{}/teams/{team}", org_url(f), project_id(&p))});
    v["capabilities"] = json!({"versioncontrol": {"sourceControlType": "Git", "gitEnabled": "true"},
        "processTemplate": {"templateName": "Basic", "templateTypeId": "b8a3a935-7e91-48b8-a94c-606d37c3e9f2"}});
    v["_links"] = json!({"self": {"href": v["url"]}});
    Reply::json(200, &v)
}

/// `GET {vssps}/_apis/identities?identityIds=…|descriptors=…|searchFilter=…&filterValue=…`.
/// A search answers every identity it matches (none: an empty list):
/// `AccountName` exactly the account name (`uniqueName`, any case),
/// `DisplayName` the display name, `MailAddress` a person's mail, `General`
/// any of those, `LocalGroupName` a group's name.
pub(super) fn identities(f: &Forge, req: &Request) -> Reply {
    let by = |list: &str, pick: &dyn Fn(&Identity, &str) -> bool| -> Vec<Value> {
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|want| {
                f.az.identities
                    .iter()
                    .find(|i| pick(i, want))
                    .map_or(Value::Null, identity_json)
            })
            .collect()
    };
    let value = if let Some(ids) = req.q("identityIds") {
        by(ids, &|i, w| i.id.eq_ignore_ascii_case(w))
    } else if let Some(d) = req.q("descriptors") {
        by(d, &|i, w| i.descriptor().eq_ignore_ascii_case(w))
    } else if let Some(d) = req.q("subjectDescriptors") {
        by(d, &|i, w| i.subject() == w)
    } else if let (Some(filter), Some(v)) = (req.q("searchFilter"), req.q("filterValue")) {
        let filter = filter.to_ascii_lowercase();
        let account = |i: &Identity| i.unique_name().eq_ignore_ascii_case(v);
        let display = |i: &Identity| i.name.eq_ignore_ascii_case(v);
        let mail = |i: &Identity| i.kind == Kind::User && account(i);
        let matches = |i: &Identity| match filter.as_str() {
            "accountname" => account(i),
            "displayname" => display(i),
            "mailaddress" => mail(i),
            "general" => account(i) || display(i),
            _ => i.kind == Kind::Group && display(i),
        };
        if ![
            "accountname",
            "displayname",
            "mailaddress",
            "general",
            "localgroupname",
        ]
        .contains(&filter.as_str())
        {
            return err(
                400,
                "ArgumentException",
                "searchFilter is one of AccountName, DisplayName, MailAddress, General or LocalGroupName.",
            );
        }
        f.az.identities
            .iter()
            .filter(|i| matches(i))
            .map(identity_json)
            .collect()
    } else {
        return err(
            400,
            "ArgumentException",
            "One of identityIds, descriptors, subjectDescriptors or searchFilter with filterValue is required.",
        );
    };
    Reply::json(200, &list(value))
}

/// `GET _apis/securitynamespaces/{id}`.
pub(super) fn namespace(ns: &str) -> Reply {
    let value: Vec<Value> = NAMESPACES
        .iter()
        .filter(|(id, _, _)| id.eq_ignore_ascii_case(ns))
        .map(|(id, name, actions)| {
            let actions: Vec<Value> = actions
                .iter()
                .map(|(bit, n, d)| json!({"bit": bit, "name": n, "displayName": d, "namespaceId": id}))
                .collect();
            json!({"namespaceId": id, "name": name, "displayName": name, "separatorValue": if *id == crate::model::azure::GIT_NS { "/" } else { ":" },
                "elementLength": -1, "writePermission": 2, "readPermission": 1, "dataspaceCategory": "Default",
                "actions": actions, "structureValue": 1, "extensionType": null, "isRemotable": false,
                "useTokenTranslator": false, "systemBitMask": 0})
        })
        .collect();
    Reply::json(200, &list(value))
}

/// `GET _apis/accesscontrollists/{ns}?token=…&descriptors=…&includeExtendedInfo=true`:
/// an entry for each asked descriptor that has one (its own or a group's,
/// on the token or above), none for one that has not.
pub(super) fn acls(f: &Forge, req: &Request, ns: &str) -> Reply {
    let Some(token) = req.q("token") else {
        return Reply::json(200, &list(vec![]));
    };
    let extended = req
        .q("includeExtendedInfo")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let mut aces = serde_json::Map::new();
    let own = |d: &str| {
        f.az.aces
            .iter()
            .find(|a| a.namespace.eq_ignore_ascii_case(ns) && a.token == token && a.descriptor == d)
            .map_or((0, 0), |a| (a.allow, a.deny))
    };
    let asked: Vec<String> = match req.q("descriptors") {
        Some(d) => d
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        None => {
            f.az.aces
                .iter()
                .filter(|a| a.namespace.eq_ignore_ascii_case(ns) && a.token == token)
                .map(|a| a.descriptor.clone())
                .collect()
        }
    };
    let ns = NAMESPACES
        .iter()
        .map(|(id, _, _)| *id)
        .find(|id| id.eq_ignore_ascii_case(ns))
        .unwrap_or(ns);
    for d in asked {
        let Some(who) =
            f.az.identities
                .iter()
                .find(|i| i.descriptor().eq_ignore_ascii_case(&d))
        else {
            continue;
        };
        let Some((allow, deny)) = f.az.effective(ns, token, who) else {
            continue;
        };
        let (own_allow, own_deny) = own(&who.descriptor());
        let mut ace = json!({"descriptor": who.descriptor(), "allow": own_allow, "deny": own_deny});
        if extended {
            ace["extendedInfo"] = json!({"effectiveAllow": allow, "effectiveDeny": deny,
                "inheritedAllow": allow & !own_allow, "inheritedDeny": deny & !own_deny});
        }
        aces.insert(who.descriptor(), ace);
    }
    Reply::json(
        200,
        &list(vec![json!({"inheritPermissions": true, "token": token,
        "acesDictionary": aces, "includeExtendedInfo": extended})]),
    )
}

/// `GET _apis/permissions/{ns}/{bits}?tokens=a,b`: whether the caller
/// (afk's account) holds all of `bits` on each token.
pub(super) fn permissions(f: &mut Forge, req: &Request, ns: &str, bits: &str) -> Reply {
    let Ok(bits) = bits.parse::<u64>() else {
        return err(
            400,
            "InvalidArgumentValueException",
            "permissions is a number.",
        );
    };
    let me = f.me.clone();
    f.az.ensure(&me);
    let who = f.az.by_name(&me).expect("afk's identity");
    let ns = NAMESPACES
        .iter()
        .map(|(id, _, _)| *id)
        .find(|id| id.eq_ignore_ascii_case(ns))
        .unwrap_or(ns);
    let value: Vec<Value> = req
        .q("tokens")
        .unwrap_or("")
        .split(',')
        .filter(|t| !t.is_empty())
        .map(|t| {
            json!(
                f.az.effective(ns, t, who)
                    .is_some_and(|(allow, _)| allow & bits == bits)
            )
        })
        .collect();
    Reply::json(200, &list(value))
}

/// `GET _apis/hooks/subscriptions`: the `webHooks` subscriptions the
/// sandbox delivers to (`--hook-url`), one per event type.
pub(super) fn subscriptions(f: &Forge) -> Reply {
    let Some(url) = f.outbox.url() else {
        return Reply::json(200, &list(vec![]));
    };
    let value: Vec<Value> = super::hooks::EVENTS
        .iter()
        .map(|e| {
            let id = super::hooks::subscription(e);
            json!({"id": id, "publisherId": "tfs", "eventType": e, "consumerId": "webHooks",
                "consumerActionId": "httpRequest", "status": "enabled", "resourceVersion": "1.0",
                "consumerInputs": {"url": url, "basicAuthUsername": "sandbox", "resourceDetailsToSend": "minimal"},
                "publisherInputs": {"projectId": ""}, "url": format!("{}/_apis/hooks/subscriptions/{id}", org_url(f))})
        })
        .collect();
    Reply::json(200, &list(value))
}
