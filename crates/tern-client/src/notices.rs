//! Group notices in words ("alice added bob and carol"), for text front ends (the CLI); the
//! desktop UI words them itself, with display names.

use tern_proto::{Notice, NoticeAction};

/// `a`, `a and b`, `a, b and c`.
fn list(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// What `notice`, done by `actor`, says.
pub fn notice_text(actor: &str, notice: &Notice) -> String {
    let users: Vec<String> = notice.users.iter().map(|u| u.username.clone()).collect();
    let name = notice.name.as_deref().unwrap_or("");
    match notice.action {
        NoticeAction::Created => format!("{actor} created the group “{name}”"),
        NoticeAction::Added => format!("{actor} added {}", list(&users)),
        NoticeAction::Removed => format!("{actor} removed {}", list(&users)),
        NoticeAction::Left => format!("{actor} left"),
        NoticeAction::Renamed => format!("{actor} renamed the group to “{name}”"),
        NoticeAction::PictureChanged => format!("{actor} changed the group's picture"),
        NoticeAction::PictureRemoved => format!("{actor} removed the group's picture"),
        NoticeAction::Other => format!("{actor} changed the group"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tern_proto::NoticeUser;
    use tern_proto::UserId;

    #[test]
    fn notices_read_as_sentences() {
        let user = |id, name: &str| NoticeUser {
            user_id: id,
            username: name.into(),
        };
        let added = Notice {
            action: NoticeAction::Added,
            users: vec![
                user(UserId(2), "bob"),
                user(UserId(3), "carol"),
                user(UserId(4), "dave"),
            ],
            name: None,
        };
        assert_eq!(
            notice_text("alice", &added),
            "alice added bob, carol and dave"
        );
        let renamed = Notice {
            action: NoticeAction::Renamed,
            users: Vec::new(),
            name: Some("Team".into()),
        };
        assert_eq!(
            notice_text("bob", &renamed),
            "bob renamed the group to “Team”"
        );
    }
}
