//! File attachments of mail messages (`#microsoft.graph.fileAttachment`): adding them to drafts,
//! listing, reading (JSON and raw `$value`), deleting, and the message's `hasAttachments`, which
//! the store keeps in the same transaction. Attachments belong to a message's immutable id, so
//! they follow it through moves and the send from Drafts to Sent Items.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

use crate::chats::Owner;
use crate::error::{Error, ErrorKind, Family};
use crate::graph_time::now_ms;
use crate::mail::{Mail, MailOutcome, MailWrite, Mailbox, new_change_key, new_message_id};
use crate::permissions;
use crate::principal::Principal;
use switchboard_odata::ast::ExpandItem;

/// The largest attachment one `POST …/attachments` takes (Graph's limit; larger files need an
/// upload session).
pub const MAX_ATTACHMENT_BYTES: usize = 3 * 1024 * 1024;

/// The most all the attachments of one message may hold together (Exchange Online's default
/// message size limit).
pub const MAX_MESSAGE_ATTACHMENT_BYTES: i64 = 35 * 1024 * 1024;

/// What Exchange answers when a message's attachments would pass
/// [`MAX_MESSAGE_ATTACHMENT_BYTES`].
pub fn message_too_large() -> Error {
    Error::new(
        ErrorKind::PayloadTooLarge,
        "ErrorMessageSizeExceeded",
        "The message exceeds the maximum supported size.",
    )
}

/// A file attachment as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentRecord {
    /// Opaque id.
    pub id: String,
    /// `name`.
    pub name: String,
    /// `contentType`.
    pub content_type: String,
    /// `size`: the content's length in bytes.
    pub size: i64,
    /// `isInline`.
    pub is_inline: bool,
    /// `contentId`.
    pub content_id: Option<String>,
    /// `lastModifiedDateTime`, epoch ms.
    pub modified_ms: i64,
    /// The file.
    pub content: Vec<u8>,
}

const OUTLOOK: Family = Family::Outlook;

fn bad(message: impl Into<String>) -> Error {
    Error::bad_request(OUTLOOK, message)
}

fn not_found() -> Error {
    Error::not_found(OUTLOOK, "")
}

fn text(body: &Map<String, Value>, name: &str) -> Result<Option<String>, Error> {
    match body.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)) {
        None | Some((_, Value::Null)) => Ok(None),
        Some((_, Value::String(s))) => Ok(Some(s.clone())),
        Some(_) => Err(bad(format!(
            "Cannot convert the literal to the expected type 'Edm.String' for '{name}'."
        ))),
    }
}

/// Checks a `POST …/attachments` body: a file attachment with a name and base64 content.
pub fn parse_attachment(body: &Map<String, Value>) -> Result<AttachmentRecord, Error> {
    match text(body, "@odata.type")?.as_deref() {
        Some("#microsoft.graph.fileAttachment" | "microsoft.graph.fileAttachment") => {}
        Some(
            "#microsoft.graph.itemAttachment"
            | "microsoft.graph.itemAttachment"
            | "#microsoft.graph.referenceAttachment"
            | "microsoft.graph.referenceAttachment",
        ) => {
            return Err(Error::new(
                ErrorKind::NotImplemented,
                "NotImplemented",
                "Only file attachments are implemented by Switchboard.",
            ));
        }
        Some(other) => {
            return Err(bad(format!(
                "The type '{other}' is not an attachment type."
            )));
        }
        None => {
            return Err(bad(
                "An attachment needs '@odata.type': '#microsoft.graph.fileAttachment'.",
            ));
        }
    }
    let name = text(body, "name")?
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| bad("The attachment needs a 'name'."))?;
    let encoded = text(body, "contentBytes")?
        .ok_or_else(|| bad("A file attachment needs 'contentBytes' (base64)."))?;
    let content = STANDARD
        .decode(encoded.trim())
        .map_err(|_| bad("'contentBytes' is not valid base64."))?;
    if content.len() > MAX_ATTACHMENT_BYTES {
        return Err(Error::new(
            ErrorKind::PayloadTooLarge,
            "ErrorRequestEntityTooLarge",
            "Attachments larger than 3 MB need an upload session (createUploadSession), which Switchboard does not implement.",
        ));
    }
    let is_inline = match body
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("isInline"))
    {
        None | Some((_, Value::Null)) => false,
        Some((_, Value::Bool(b))) => *b,
        Some(_) => {
            return Err(bad(
                "Cannot convert the literal to the expected type 'Edm.Boolean' for 'isInline'.",
            ));
        }
    };
    Ok(AttachmentRecord {
        id: new_message_id(),
        name,
        content_type: text(body, "contentType")?
            .unwrap_or_else(|| "application/octet-stream".to_string()),
        size: content.len() as i64,
        is_inline,
        content_id: text(body, "contentId")?,
        modified_ms: now_ms(),
        content,
    })
}

/// The properties of a file attachment a nested `$select` may name (`id` always comes back).
pub const ATTACHMENT_PROPERTIES: &[&str] = &[
    "id",
    "lastModifiedDateTime",
    "name",
    "contentType",
    "size",
    "isInline",
    "contentId",
    "contentLocation",
    "contentBytes",
];

/// `$expand=attachments` on messages, with the properties a nested `$select` names (`None`: all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentsExpand {
    /// Canonical property names.
    pub select: Option<Vec<&'static str>>,
}

/// Navigations of a message Graph expands that Switchboard does not have.
const UNIMPLEMENTED_EXPANDS: &[&str] = &[
    "extensions",
    "singleValueExtendedProperties",
    "multiValueExtendedProperties",
    "mentions",
    "*",
];

fn not_implemented(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::NotImplemented, "NotImplemented", message)
}

/// Checks a message's `$expand`: `attachments` (optionally with a nested `$select`) is served;
/// the other navigations Graph expands are `501`; anything else is Graph's `400`.
pub fn message_expand(items: &[ExpandItem]) -> Result<Option<AttachmentsExpand>, Error> {
    let mut out = None;
    for item in items {
        let path = item.path.trim();
        if path.eq_ignore_ascii_case("attachments") {
            let o = &item.options;
            if o.has_more_than_select() {
                return Err(not_implemented(
                    "Switchboard implements only $select inside $expand=attachments.",
                ));
            }
            let select = match &o.select {
                None => None,
                Some(names) if names.iter().any(|n| n.trim() == "*") => None,
                Some(names) => {
                    let mut canonical = Vec::new();
                    for n in names {
                        let p = ATTACHMENT_PROPERTIES
                            .iter()
                            .find(|p| p.eq_ignore_ascii_case(n.trim()))
                            .ok_or_else(|| {
                                bad(format!(
                                    "Could not find a property named '{n}' on type 'microsoft.graph.attachment'."
                                ))
                            })?;
                        if !canonical.contains(p) {
                            canonical.push(*p);
                        }
                    }
                    Some(canonical)
                }
            };
            out = Some(AttachmentsExpand { select });
        } else if UNIMPLEMENTED_EXPANDS
            .iter()
            .any(|n| n.eq_ignore_ascii_case(path))
        {
            return Err(not_implemented(format!(
                "$expand={path} on messages is not implemented by Switchboard."
            )));
        } else {
            return Err(bad(format!(
                "Could not find a property named '{path}' on type 'microsoft.graph.message'."
            )));
        }
    }
    Ok(out)
}

impl Mail<'_> {
    /// The attachments of each message (for `$expand=attachments`), in the messages' order. Only
    /// called when expanded, so a plain list never reads attachment bytes.
    pub async fn expanded_attachments(
        &self,
        caller: &Principal,
        mb: &Mailbox,
        messages: &[crate::mail::MailRecord],
    ) -> Result<Vec<Vec<AttachmentRecord>>, Error> {
        caller.require(&permissions::MAIL_ATTACHMENTS_READ)?;
        let mut out = Vec::with_capacity(messages.len());
        // `hasAttachments` cannot skip the read: inline-only messages have it false.
        for m in messages {
            out.push(
                self.store
                    .mail_attachments(&mb.user.id, &m.immutable_id)
                    .await?,
            );
        }
        Ok(out)
    }

    /// `GET …/messages/{id}/attachments`.
    pub async fn list_attachments(
        &self,
        caller: &Principal,
        owner: &Owner,
        folder: Option<&str>,
        message_id: &str,
    ) -> Result<(Mailbox, Vec<AttachmentRecord>), Error> {
        let mb = self
            .mailbox(caller, owner, &permissions::MAIL_ATTACHMENTS_READ)
            .await?;
        let m = self.message(&mb, folder, message_id).await?;
        let items = self
            .store
            .mail_attachments(&mb.user.id, &m.immutable_id)
            .await?;
        Ok((mb, items))
    }

    /// `GET …/messages/{id}/attachments/{attachment-id}` (and its `$value`).
    pub async fn get_attachment(
        &self,
        caller: &Principal,
        owner: &Owner,
        folder: Option<&str>,
        message_id: &str,
        attachment_id: &str,
    ) -> Result<(Mailbox, AttachmentRecord), Error> {
        let mb = self
            .mailbox(caller, owner, &permissions::MAIL_ATTACHMENTS_READ)
            .await?;
        let m = self.message(&mb, folder, message_id).await?;
        let a = self
            .store
            .mail_attachment(&mb.user.id, &m.immutable_id, attachment_id)
            .await?
            .ok_or_else(not_found)?;
        Ok((mb, a))
    }

    /// `POST …/messages/{id}/attachments`: adds a file to a draft.
    pub async fn add_attachment(
        &self,
        caller: &Principal,
        owner: &Owner,
        folder: Option<&str>,
        message_id: &str,
        body: &Map<String, Value>,
    ) -> Result<(Mailbox, AttachmentRecord), Error> {
        let mb = self
            .mailbox(caller, owner, &permissions::MAIL_WRITE)
            .await?;
        let attachment = parse_attachment(body)?;
        let m = self.message(&mb, folder, message_id).await?;
        let write = MailWrite::AddAttachment {
            user_id: mb.user.id.clone(),
            id: m.id,
            attachment: attachment.clone(),
            change_key: new_change_key(),
            now_ms: now_ms(),
        };
        match self.store.write_mail(&write).await? {
            MailOutcome::Done(_) => Ok((mb, attachment)),
            MailOutcome::NotFound => Err(not_found()),
            MailOutcome::Refused(e) => Err(e),
        }
    }

    /// `DELETE …/messages/{id}/attachments/{attachment-id}`.
    pub async fn delete_attachment(
        &self,
        caller: &Principal,
        owner: &Owner,
        folder: Option<&str>,
        message_id: &str,
        attachment_id: &str,
    ) -> Result<(), Error> {
        let mb = self
            .mailbox(caller, owner, &permissions::MAIL_WRITE)
            .await?;
        let m = self.message(&mb, folder, message_id).await?;
        let write = MailWrite::DeleteAttachment {
            user_id: mb.user.id.clone(),
            id: m.id,
            attachment_id: attachment_id.to_string(),
            change_key: new_change_key(),
            now_ms: now_ms(),
        };
        match self.store.write_mail(&write).await? {
            MailOutcome::Done(_) => Ok(()),
            MailOutcome::NotFound => Err(not_found()),
            MailOutcome::Refused(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_file_attachment_is_checked() {
        let ok = json!({"@odata.type": "#microsoft.graph.fileAttachment", "name": "a.txt", "contentBytes": "aGVsbG8="});
        let a = parse_attachment(ok.as_object().unwrap()).unwrap();
        assert_eq!((a.size, a.content.as_slice()), (5, b"hello".as_slice()));
        assert_eq!(a.content_type, "application/octet-stream");
        for body in [
            json!({"name": "a.txt", "contentBytes": "aGVsbG8="}),
            json!({"@odata.type": "#microsoft.graph.fileAttachment", "contentBytes": "aGVsbG8="}),
            json!({"@odata.type": "#microsoft.graph.fileAttachment", "name": "a", "contentBytes": "not base64!"}),
            json!({"@odata.type": "#microsoft.graph.fileAttachment", "name": "a", "contentBytes": "aGVsbG8=", "isInline": "yes"}),
        ] {
            assert_eq!(
                parse_attachment(body.as_object().unwrap())
                    .unwrap_err()
                    .kind,
                ErrorKind::BadRequest,
                "{body}"
            );
        }
        let big = STANDARD.encode(vec![0u8; MAX_ATTACHMENT_BYTES + 1]);
        let body = json!({"@odata.type": "#microsoft.graph.fileAttachment", "name": "a", "contentBytes": big});
        assert_eq!(
            parse_attachment(body.as_object().unwrap())
                .unwrap_err()
                .kind,
            ErrorKind::PayloadTooLarge
        );
    }

    #[test]
    fn expanding_a_message() {
        let parse = |text: &str| {
            message_expand(&switchboard_odata::parse_expand(text, &Default::default()).unwrap())
        };
        assert_eq!(
            parse("attachments").unwrap(),
            Some(AttachmentsExpand { select: None })
        );
        assert_eq!(
            parse("Attachments($select=NAME,size,name)").unwrap(),
            Some(AttachmentsExpand {
                select: Some(vec!["name", "size"])
            })
        );
        assert_eq!(
            parse("attachments($select=*)").unwrap().unwrap().select,
            None
        );
        for (text, kind) in [
            ("nothing", ErrorKind::BadRequest),
            ("attachments($select=bytes)", ErrorKind::BadRequest),
            ("extensions", ErrorKind::NotImplemented),
            ("attachments($filter=size gt 1)", ErrorKind::NotImplemented),
            ("*", ErrorKind::NotImplemented),
        ] {
            assert_eq!(parse(text).unwrap_err().kind, kind, "{text}");
        }
    }
}
