//! Message delta of one mail folder (`GET …/mailFolders/{id}/messages/delta`): the initial round
//! (every message of the folder, newest first, in pages) and later rounds (exactly what arrived,
//! changed or left since), with signed state tokens that carry the round's query options.
//!
//! Every write of a message stamps it with its mailbox's next change number, and a message that
//! leaves a folder leaves a removal with a number of the same sequence (see the store), so a
//! later round is "every change of this folder numbered above N". The initial round remembers
//! the mailbox's number when it started; the round after it starts there, so a change made while
//! the client was paging is delivered again rather than lost.

use serde::{Deserialize, Serialize};
use switchboard_odata::QueryOptions;
use switchboard_odata::ast::{CompareOp, Expr, ExprKind, Literal};

use crate::change_tokens::{self, ChangeToken, TokenError, TokenKind};
use crate::chats::Owner;
use crate::error::{Error, ErrorKind, Family};
use crate::graph_time::now_ms;
use crate::mail::{FolderRecord, Mail, MailRecord, Mailbox};
use crate::permissions;
use crate::principal::Principal;

/// Page size when neither `Prefer: odata.maxpagesize` nor a smaller `$top` says otherwise.
pub const DEFAULT_PAGE: usize = 10;
/// The largest page size honoured; larger preferences are lowered to it.
pub const MAX_PAGE: usize = 1000;

/// The custom `changeType` query option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChangeType {
    /// Messages that arrived in the folder.
    Created,
    /// Messages already there that changed.
    Updated,
    /// Messages that left the folder.
    Deleted,
}

/// What a later round reports, for the store.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeltaFilter {
    /// `$filter=receivedDateTime ge|gt {t}`: (epoch ms, inclusive).
    pub received_from: Option<(i64, bool)>,
    /// `changeType`.
    pub change_type: Option<ChangeType>,
    /// The change number the round started from: `created` is what entered the folder after
    /// it, `updated` what was there before it, whichever page of the round is asked for.
    pub round_start: i64,
}

/// One entry of a delta page.
#[derive(Debug, Clone, PartialEq)]
pub enum DeltaRow {
    /// A message that arrived or changed, as it is now.
    Changed(Box<MailRecord>),
    /// A message that left the folder (deleted or moved out), with the ids it had there.
    Removed {
        /// Its id in the folder.
        id: String,
        /// Its immutable id.
        immutable_id: String,
    },
}

/// Changes of a folder in change order, from the store.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeltaRows {
    /// (change number, entry).
    pub rows: Vec<(i64, DeltaRow)>,
    /// More changes follow.
    pub more: bool,
}

/// One entry of a folder delta page.
#[derive(Debug, Clone, PartialEq)]
pub enum FolderDeltaRow {
    /// A folder created, renamed, or whose counts changed, as it is now.
    Changed(FolderRecord),
    /// A deleted folder's id.
    Removed(String),
}

/// Folder changes of a mailbox in change order, from the store.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FolderDeltaRows {
    /// (change number, entry).
    pub rows: Vec<(i64, FolderDeltaRow)>,
    /// More changes follow.
    pub more: bool,
}

/// The `f` of a folder delta round's state: never a folder id, so a message delta token is never
/// a folder delta token, nor the reverse.
const FOLDERS_SCOPE: &str = "#mailFolders";

/// One page of a delta round, for the HTTP layer: of messages ([`DeltaRow`]) or of folders
/// ([`FolderDeltaRow`]).
#[derive(Debug, Clone)]
pub struct DeltaPage<T> {
    /// The entries.
    pub items: Vec<T>,
    /// `$select` of the round (given on its first request).
    pub select: Option<Vec<String>>,
    /// `$skiptoken` for `@odata.nextLink` (more in this round).
    pub next_token: Option<String>,
    /// `$deltatoken` for `@odata.deltaLink` (the round is complete).
    pub delta_token: Option<String>,
}

/// What a token carries besides the mailbox and the change number: the folder and the round's
/// query options (Graph bakes them into its tokens too), and where an initial round stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct RoundState {
    /// Folder id.
    f: String,
    /// `$select`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    s: Option<Vec<String>>,
    /// `$filter` bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    r: Option<(i64, bool)>,
    /// `changeType`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    c: Option<ChangeType>,
    /// Initial round only: the messages still to deliver under `$top`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    top: Option<u64>,
    /// Initial round only: received time and id of the last message delivered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    at: Option<(i64, String)>,
    /// Still in the initial round.
    #[serde(default)]
    init: bool,
    /// Later rounds: the change number the round started from (its `$deltatoken`'s), kept
    /// across its `$skiptoken` pages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    b: Option<i64>,
}

const OUTLOOK: Family = Family::Outlook;

fn bad(message: impl Into<String>) -> Error {
    Error::bad_request(OUTLOOK, message)
}

fn invalid_token() -> Error {
    Error::new(
        ErrorKind::BadRequest,
        "resyncRequired",
        "The sync state token is not valid: it was not issued by this server for this folder, or it was altered. Start a new round without a token.",
    )
}

/// `$filter` on message delta: only `receivedDateTime ge|gt {date-time}`.
fn received_filter(expr: &Expr) -> Result<(i64, bool), Error> {
    let rule = || {
        bad(
            "The only $filter supported on message delta is 'receivedDateTime ge {date-time}' or 'receivedDateTime gt {date-time}'.",
        )
    };
    let ExprKind::Compare { op, left, right } = &expr.kind else {
        return Err(rule());
    };
    let (ExprKind::Member(path), ExprKind::Literal(literal)) = (&left.kind, &right.kind) else {
        return Err(rule());
    };
    if !matches!(path.segments.as_slice(), [p] if p.eq_ignore_ascii_case("receivedDateTime")) {
        return Err(rule());
    }
    let at = match literal {
        Literal::DateTimeOffset(t) => *t,
        Literal::Date(d) => d.midnight().assume_utc(),
        _ => return Err(rule()),
    };
    let ms = (at.unix_timestamp_nanos() / 1_000_000) as i64;
    match op {
        CompareOp::Ge => Ok((ms, true)),
        CompareOp::Gt => Ok((ms, false)),
        _ => Err(rule()),
    }
}

fn change_type(q: &QueryOptions) -> Result<Option<ChangeType>, Error> {
    let Some((_, value)) = q
        .raw
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("changeType"))
    else {
        return Ok(None);
    };
    match value.to_ascii_lowercase().as_str() {
        "created" => Ok(Some(ChangeType::Created)),
        "updated" => Ok(Some(ChangeType::Updated)),
        "deleted" => Ok(Some(ChangeType::Deleted)),
        _ => Err(bad(format!(
            "The value '{value}' of changeType is not valid: use created, updated or deleted."
        ))),
    }
}

/// The options of a round's first request, checked against what message delta supports.
fn first_request(
    q: &QueryOptions,
    folder_id: String,
    select: Option<Vec<String>>,
) -> Result<RoundState, Error> {
    if q.search.is_some() {
        return Err(bad("$search is not supported on message delta."));
    }
    if q.skip.is_some() {
        return Err(bad(
            "$skip is not supported on message delta: follow @odata.nextLink.",
        ));
    }
    if q.count.is_some() {
        return Err(bad("$count is not supported on message delta."));
    }
    if !q.expand.is_empty() {
        return Err(Error::new(
            ErrorKind::NotImplemented,
            "NotImplemented",
            "$expand on messages is not implemented by Switchboard yet.",
        ));
    }
    match q.orderby.as_slice() {
        [] => {}
        [o] if o.path.eq_ignore_ascii_case("receivedDateTime") && o.descending => {}
        _ => {
            return Err(bad(
                "The only $orderby supported on message delta is 'receivedDateTime desc'.",
            ));
        }
    }
    let top = match q.top {
        Some(0) => return Err(bad("The value of $top must be at least 1.")),
        t => t,
    };
    Ok(RoundState {
        f: folder_id,
        s: select,
        r: q.filter.as_ref().map(received_filter).transpose()?,
        c: change_type(q)?,
        top,
        at: None,
        init: true,
        b: None,
    })
}

impl Mail<'_> {
    /// `GET …/mailFolders/{id}/messages/delta`: one page of a round. `select` is the checked
    /// `$select` of the request; `page_size` what `Prefer: odata.maxpagesize` asks (or the
    /// default). With a state token the round's own options (baked into it) apply.
    pub async fn delta(
        &self,
        caller: &Principal,
        owner: &Owner,
        folder: &str,
        q: &QueryOptions,
        select: Option<Vec<String>>,
        page_size: usize,
    ) -> Result<(Mailbox, DeltaPage<DeltaRow>), Error> {
        let mb = self.mailbox(caller, owner, &permissions::MAIL_READ).await?;
        let folder = self.folder(&mb, folder).await?;
        let (seq, state) = match self.round(caller, &mb, q).await? {
            Some((seq, mut state)) if state.f == folder.id => {
                if q.deltatoken.is_some() {
                    state.b = Some(seq);
                }
                (seq, state)
            }
            Some(_) => return Err(invalid_token()),
            None => (
                self.store.mail_change_seq(&mb.user.id).await?,
                first_request(q, folder.id.clone(), select)?,
            ),
        };
        let page_size = page_size.clamp(1, MAX_PAGE);
        let (items, next) = if state.init {
            self.initial_page(seq, state, page_size).await?
        } else {
            self.changes_page(seq, state, page_size).await?
        };
        let (kind, token_seq, next_state) = next;
        let select = next_state.s.clone();
        let token = self.seal(caller, &mb, kind, token_seq, &next_state).await?;
        let page = DeltaPage {
            items,
            select,
            next_token: (kind == TokenKind::Page).then(|| token.clone()),
            delta_token: (kind == TokenKind::Delta).then_some(token),
        };
        Ok((mb, page))
    }

    /// `GET …/mailFolders/delta`: every folder of the mailbox (the whole tree but its root), then
    /// in later rounds the folders created, renamed or recounted since, and `@removed` for those
    /// deleted. `$select` and `$top` are the options taken.
    pub async fn folder_delta(
        &self,
        caller: &Principal,
        owner: &Owner,
        q: &QueryOptions,
        select: Option<Vec<String>>,
        page_size: usize,
    ) -> Result<(Mailbox, DeltaPage<FolderDeltaRow>), Error> {
        let mb = self
            .mailbox(caller, owner, &permissions::MAIL_FOLDERS_READ)
            .await?;
        let (seq, mut state) = match self.round(caller, &mb, q).await? {
            Some((seq, state)) if state.f == FOLDERS_SCOPE => (seq, state),
            Some(_) => return Err(invalid_token()),
            None => {
                if q.filter.is_some()
                    || !q.orderby.is_empty()
                    || q.search.is_some()
                    || q.skip.is_some()
                    || q.count.is_some()
                    || !q.expand.is_empty()
                {
                    return Err(bad(
                        "Folder delta supports only $select and $top (and its own state tokens).",
                    ));
                }
                if q.top == Some(0) {
                    return Err(bad("The value of $top must be at least 1."));
                }
                let state = RoundState {
                    f: FOLDERS_SCOPE.into(),
                    s: select,
                    r: None,
                    c: None,
                    top: q.top,
                    at: None,
                    init: true,
                    b: None,
                };
                (self.store.mail_change_seq(&mb.user.id).await?, state)
            }
        };
        let page_size = page_size.clamp(1, MAX_PAGE);
        let (items, kind, token_seq) = if state.init {
            // $top caps the initial round, as on message delta.
            let n = match state.top {
                Some(left) => page_size.min(left as usize),
                None => page_size,
            };
            let mut rows = self
                .store
                .mail_folder_delta_initial(&mb.user.id, state.at.as_ref(), n + 1)
                .await?;
            let more_rows = rows.len() > n;
            rows.truncate(n);
            let left = state.top.map(|t| t.saturating_sub(rows.len() as u64));
            let more = more_rows && left != Some(0);
            if more {
                state.at = rows.last().map(|f| (f.created_ms, f.id.clone()));
                state.top = left;
            } else {
                state.init = false;
                state.at = None;
                state.top = None;
            }
            let kind = if more {
                TokenKind::Page
            } else {
                TokenKind::Delta
            };
            (
                rows.into_iter().map(FolderDeltaRow::Changed).collect(),
                kind,
                seq,
            )
        } else {
            let page = self
                .store
                .mail_folder_delta_changes(&mb.user.id, seq, page_size)
                .await?;
            let last = page.rows.last().map(|(s, _)| *s).unwrap_or(seq);
            let kind = if page.more {
                TokenKind::Page
            } else {
                TokenKind::Delta
            };
            (page.rows.into_iter().map(|(_, r)| r).collect(), kind, last)
        };
        let token = self.seal(caller, &mb, kind, token_seq, &state).await?;
        let page = DeltaPage {
            items,
            select: state.s,
            next_token: (kind == TokenKind::Page).then(|| token.clone()),
            delta_token: (kind == TokenKind::Delta).then_some(token),
        };
        Ok((mb, page))
    }

    /// The round a request's state token continues (its change number and state), or `None`
    /// for a first request.
    async fn round(
        &self,
        caller: &Principal,
        mb: &Mailbox,
        q: &QueryOptions,
    ) -> Result<Option<(i64, RoundState)>, Error> {
        let secret = self.store.message_token_secret().await?;
        let now = now_ms();
        let presented = match (&q.skiptoken, &q.deltatoken) {
            (Some(_), Some(_)) => {
                return Err(bad("Send either $skiptoken or $deltatoken, not both."));
            }
            (Some(t), None) => change_tokens::verify_scoped(&secret, t, TokenKind::Page, now),
            (None, Some(t)) => change_tokens::verify_scoped(&secret, t, TokenKind::Delta, now),
            (None, None) => return Ok(None),
        };
        match presented {
            Ok((token, scope)) => {
                let state: RoundState =
                    serde_json::from_str(&scope).map_err(|_| invalid_token())?;
                if token.tenant_id != caller.tenant_id || token.user_id != mb.user.id {
                    return Err(invalid_token());
                }
                Ok(Some((token.seq, state)))
            }
            Err(TokenError::Invalid) => Err(invalid_token()),
            Err(TokenError::Expired) => Err(Error::new(
                ErrorKind::BadRequest,
                "syncStateNotFound",
                "The sync state token has expired. Start a new round: call delta without a token.",
            )),
        }
    }

    /// Signs the token of the next page or round.
    async fn seal(
        &self,
        caller: &Principal,
        mb: &Mailbox,
        kind: TokenKind,
        seq: i64,
        state: &RoundState,
    ) -> Result<String, Error> {
        let secret = self.store.message_token_secret().await?;
        Ok(change_tokens::sign_scoped(
            &secret,
            &ChangeToken {
                kind,
                tenant_id: caller.tenant_id.clone(),
                user_id: mb.user.id.clone(),
                seq,
                issued_ms: now_ms(),
            },
            &serde_json::to_string(state).unwrap_or_default(),
        ))
    }

    /// A page of the initial round (`snapshot`: the mailbox's change number when it began).
    async fn initial_page(
        &self,
        snapshot: i64,
        mut state: RoundState,
        page_size: usize,
    ) -> Result<(Vec<DeltaRow>, (TokenKind, i64, RoundState)), Error> {
        let n = match state.top {
            Some(left) => page_size.min(left as usize),
            None => page_size,
        };
        let mut rows = self
            .store
            .mail_delta_initial(&state.f, state.r, state.at.as_ref(), n + 1)
            .await?;
        let more_rows = rows.len() > n;
        rows.truncate(n);
        let left = state.top.map(|t| t.saturating_sub(rows.len() as u64));
        let more = more_rows && left != Some(0);
        if more {
            if let Some(last) = rows.last() {
                state.at = Some((last.received_ms, last.id.clone()));
            }
            state.top = left;
            let items = rows
                .into_iter()
                .map(|m| DeltaRow::Changed(Box::new(m)))
                .collect();
            return Ok((items, (TokenKind::Page, snapshot, state)));
        }
        state.init = false;
        state.at = None;
        state.top = None;
        let items = rows
            .into_iter()
            .map(|m| DeltaRow::Changed(Box::new(m)))
            .collect();
        Ok((items, (TokenKind::Delta, snapshot, state)))
    }

    /// A page of a later round: the folder's changes after change number `after`.
    async fn changes_page(
        &self,
        after: i64,
        state: RoundState,
        page_size: usize,
    ) -> Result<(Vec<DeltaRow>, (TokenKind, i64, RoundState)), Error> {
        let filter = DeltaFilter {
            received_from: state.r,
            change_type: state.c,
            // A page token of before round starts were kept: its own number, as then.
            round_start: state.b.unwrap_or(after),
        };
        let page = self
            .store
            .mail_delta_changes(&state.f, after, &filter, page_size)
            .await?;
        let last = page.rows.last().map(|(seq, _)| *seq).unwrap_or(after);
        let kind = if page.more {
            TokenKind::Page
        } else {
            TokenKind::Delta
        };
        let items = page.rows.into_iter().map(|(_, row)| row).collect();
        Ok((items, (kind, last, state)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_state_round_trips_and_the_filter_is_graphs() {
        let state = RoundState {
            f: "folder|with|bars".into(),
            s: Some(vec!["subject".into()]),
            r: Some((5, true)),
            c: Some(ChangeType::Created),
            top: Some(3),
            at: Some((7, "id".into())),
            init: true,
            b: Some(4),
        };
        let text = serde_json::to_string(&state).unwrap();
        assert_eq!(serde_json::from_str::<RoundState>(&text).unwrap(), state);
        let parse = |f: &str| {
            let q = QueryOptions::parse(
                &format!("$filter={f}"),
                &switchboard_odata::Limits::default(),
            )
            .unwrap();
            received_filter(q.filter.as_ref().unwrap())
        };
        assert_eq!(
            parse("receivedDateTime ge 1970-01-01T00:00:01Z"),
            Ok((1000, true))
        );
        assert_eq!(
            parse("receivedDateTime gt 1970-01-01T00:00:01Z"),
            Ok((1000, false))
        );
        assert!(parse("receivedDateTime lt 1970-01-01T00:00:01Z").is_err());
        assert!(parse("subject eq 'x'").is_err());
    }
}
