//! The kinds of forge: the one list every table keyed by the forge kind
//! matches on (the forge's profiles, the webhook dialects of afk and of the
//! sandbox), so a new kind is a compile error wherever it is missing.

crate::named_enum! {
    /// `forge.kind`: which forge afk talks to; each has its profile
    /// (`afk_forge::profile`), in this order.
    ForgeKind {
        Gitea => "gitea",
        Forgejo => "forgejo",
        Github => "github",
        Gitlab => "gitlab",
        AzureDevops => "azure-devops",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forge_kind_is_named_as_forge_kind_says() {
        let names: Vec<&str> = ForgeKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(
            names,
            ["gitea", "forgejo", "github", "gitlab", "azure-devops"]
        );
        assert_eq!(
            ForgeKind::parse("azure-devops"),
            Some(ForgeKind::AzureDevops)
        );
        assert_eq!(ForgeKind::parse("forgejo"), Some(ForgeKind::Forgejo));
        assert_eq!(ForgeKind::parse("bitbucket"), None);
    }
}
