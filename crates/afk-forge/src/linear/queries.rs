//! The GraphQL documents afk sends Linear, each named, each asking only
//! for fields of the published schema (`tests/contracts/linear-subset.graphql`,
//! and one mutation beyond its cut, `LABEL_CREATE`; the sandbox refuses any
//! other). Every connection asks `first: 50` and
//! its `pageInfo`, so no query comes near Linear's complexity cap.

pub const VIEWER: &str = "query AfkViewer { viewer { id active guest app } }";

/// Whether afk's user takes delegations (doctor, `ready = "delegate"`).
pub const RATE_LIMIT: &str = "query AfkRateLimit { rateLimitStatus { kind \
    limits { type allowedAmount remainingAmount period reset } } }";

pub const VIEWER_AGENT: &str = "query AfkViewerAgent { viewer { id app supportsAgentSessions } }";

pub const READY: &str = "query AfkReady($filter: IssueFilter, $after: String) { \
    issues(filter: $filter, first: 50, after: $after) { \
    nodes { id } pageInfo { hasNextPage endCursor } } }";

pub const ISSUE: &str = "query AfkIssue($id: String!) { issue(id: $id) { \
    id identifier title description url trashed createdAt creator { id } \
    state { id name type } team { id key } project { id } labelIds delegate { id } \
    inverseRelations(first: 50) { nodes { type issue { identifier url state { type } } } \
    pageInfo { hasNextPage } } } }";

/// A project's id by its name (the contract's cut has no `Project` type,
/// so afk reads a project only as an issue's, by its id): an issue of it.
pub const PROJECT_NAMED: &str = "query AfkProjectNamed($filter: IssueFilter) { \
    issues(filter: $filter, first: 1) { nodes { project { id } } } }";

pub const HISTORY: &str = "query AfkHistory($id: String!, $after: String) { issue(id: $id) { \
    history(first: 50, after: $after) { nodes { \
    id createdAt actor { id } botActor { type } addedLabelIds removedLabelIds \
    fromTitle toTitle updatedDescription descriptionUpdatedBy { id } \
    fromTeamId toTeamId fromProjectId toProjectId fromStateId toStateId \
    fromDelegate { id } toDelegate { id } } \
    pageInfo { hasNextPage endCursor } } } }";

pub const BLOCKER: &str = "query AfkBlocker($id: String!) { issue(id: $id) { \
    identifier url state { type } } }";

/// The workspace's webhooks (beyond the contract's cut; only a workspace
/// admin, or an OAuth app with the `admin` scope, may read them): doctor's
/// one page of them.
pub const WEBHOOKS: &str = "query AfkWebhooks { webhooks(first: 50) { \
    nodes { enabled resourceTypes } pageInfo { hasNextPage } } }";

pub const USER: &str = "query AfkUser($id: String!) { user(id: $id) { id active guest app } }";

pub const MEMBERS: &str = "query AfkMembers($team: String!, $after: String) { team(id: $team) { \
    memberships(first: 50, after: $after) { nodes { user { id } } \
    pageInfo { hasNextPage endCursor } } } }";

pub const STATES: &str = "query AfkStates($team: String!, $after: String) { team(id: $team) { \
    states(first: 50, after: $after) { nodes { id name type position } \
    pageInfo { hasNextPage endCursor } } } }";

pub const TEAM_LABELS: &str = "query AfkTeamLabels($team: String!, $after: String) { team(id: $team) { \
    labels(first: 50, after: $after) { nodes { id name } \
    pageInfo { hasNextPage endCursor } } } }";

pub const WORKSPACE_LABELS: &str = "query AfkWorkspaceLabels($after: String) { organization { \
    labels(first: 50, after: $after) { nodes { id name } \
    pageInfo { hasNextPage endCursor } } } }";

/// The mapped teams, by key, through their workflow states (every team has
/// some; the contract's cut has no list of teams).
pub const TEAMS: &str = "query AfkTeams($filter: WorkflowStateFilter, $after: String) { \
    workflowStates(filter: $filter, first: 50, after: $after) { nodes { id team { id key } } \
    pageInfo { hasNextPage endCursor } } }";

pub const COMMENTS: &str = "query AfkComments($id: String!, $after: String) { issue(id: $id) { \
    comments(first: 50, after: $after) { nodes { id body createdAt updatedAt user { id } } \
    pageInfo { hasNextPage endCursor } } } }";

/// A workspace label (`afk init --create-labels`), with the id afk drew for
/// it. `issueLabelCreate` is beyond the contract's cut (which keeps the
/// root fields a tick calls): read in Linear's schema at the contract's
/// commit, docs/fidelity/linear.md.
pub const LABEL_CREATE: &str = "mutation AfkLabelCreate($input: IssueLabelCreateInput!) { \
    issueLabelCreate(input: $input) { success issueLabel { id name } } }";

pub const ADD_LABEL: &str = "mutation AfkAddLabel($id: String!, $label: String!) { \
    issueAddLabel(id: $id, labelId: $label) { success } }";

pub const REMOVE_LABEL: &str = "mutation AfkRemoveLabel($id: String!, $label: String!) { \
    issueRemoveLabel(id: $id, labelId: $label) { success } }";

pub const COMMENT_CREATE: &str = "mutation AfkComment($input: CommentCreateInput!) { \
    commentCreate(input: $input) { success comment { id body createdAt updatedAt user { id } } } }";

pub const COMMENT_UPDATE: &str = "mutation AfkCommentEdit($id: String!, $input: CommentUpdateInput!) { \
    commentUpdate(id: $id, input: $input, skipEditedAt: true) { success \
    comment { id body createdAt updatedAt user { id } } } }";

pub const ATTACH: &str = "mutation AfkAttach($input: AttachmentCreateInput!) { \
    attachmentCreate(input: $input) { success } }";

pub const SET_STATE: &str = "mutation AfkDone($id: String!, $input: IssueUpdateInput!) { \
    issueUpdate(id: $id, input: $input) { success } }";

/// One agent session (the Agents API: `ready = "delegate"`): whose issue,
/// whose app, who opened it.
pub const SESSION: &str = "query AfkSession($id: String!) { agentSession(id: $id) { \
    id createdAt creator { id } issue { id } appUser { id } } }";

/// A session's activities, by id, time, author and signal (their content
/// is afk's own or a person's prompt: afk reads none of it).
pub const ACTIVITIES: &str = "query AfkActivities($id: String!, $after: String) { agentSession(id: $id) { \
    activities(first: 50, after: $after) { nodes { id createdAt signal user { id } } \
    pageInfo { hasNextPage endCursor } } } }";

pub const SESSION_LINKS: &str = "query AfkSessionLinks($id: String!) { agentSession(id: $id) { \
    externalLinks { url } } }";

pub const ACTIVITY: &str = "mutation AfkActivity($input: AgentActivityCreateInput!) { \
    agentActivityCreate(input: $input) { success } }";

pub const SESSION_UPDATE: &str = "mutation AfkSessionLink($id: String!, $input: AgentSessionUpdateInput!) { \
    agentSessionUpdate(id: $id, input: $input) { success } }";
