// Schema fidelity of a Graph response body, judged by the Kiota TypeScript SDK's generated v1.0
// models (@microsoft/msgraph-sdk/models): which properties each type has and how each is read
// (string, date, enum and its members, nested type) comes from the generated deserializers, so
// nothing is hand-typed but the default property sets, which the models do not carry (from
// graph-api.md Part 1), and the root entity sets of @odata.context.
//
// checkBody(url, body) answers a list of problems (empty when the body is what Graph would send):
// a property Graph's model lacks, a default property missing, an enum member or a date written
// differently from Graph, an @odata.type the SDK cannot map, an @odata.context it cannot place.
import * as models from "@microsoft/msgraph-sdk/models/index.js";

const pascal = (name) => name.charAt(0).toUpperCase() + name.slice(1);
const camel = (name) => name.charAt(0).toLowerCase() + name.slice(1);

// The root of an @odata.context path: an entity set or singleton of the v1.0 service.
const ROOTS = {
  users: "user",
  me: "user",
  chats: "chat",
  organization: "organization",
  applications: "application",
  servicePrincipals: "servicePrincipal",
  appCatalogs: "appCatalogs",
  domains: "domain",
  subscriptions: "subscription",
};

// What Graph returns without $select (graph-api.md Part 1). Properties in the model but not
// listed here may be present; these must be, null when they have no value.
const DEFAULTS = {
  user: {
    // "exactly" this set for GET /users, /users/{id}, /me (1.18).
    exact: true,
    props: ["businessPhones", "displayName", "givenName", "id", "jobTitle", "mail", "mobilePhone", "officeLocation", "preferredLanguage", "surname", "userPrincipalName"],
  },
  chat: { props: ["id", "topic", "createdDateTime", "lastUpdatedDateTime", "chatType", "webUrl", "tenantId", "onlineMeetingInfo", "isHiddenForAllMembers"] },
  chatViewpoint: { props: ["isHidden", "lastMessageReadDateTime"] },
  chatMessage: {
    props: ["id", "replyToId", "etag", "messageType", "createdDateTime", "lastModifiedDateTime", "lastEditedDateTime", "deletedDateTime", "subject", "summary", "chatId", "importance", "locale", "webUrl", "channelIdentity", "policyViolation", "eventDetail", "from", "body", "attachments", "mentions", "reactions", "messageHistory"],
  },
  chatMessageInfo: { props: ["id", "body", "from", "createdDateTime", "isDeleted", "messageType", "eventDetail"] },
  chatMessageReaction: { props: ["reactionType", "createdDateTime", "user"] },
  aadUserConversationMember: { props: ["id", "roles", "displayName", "visibleHistoryStartDateTime", "userId", "email", "tenantId"] },
  teamsAppInstallation: { props: ["id"] },
  teamsApp: { props: ["id", "externalId", "displayName", "distributionMethod"] },
  teamsAppDefinition: { props: ["id", "teamsAppId", "displayName", "version", "publishingState", "shortDescription", "description", "lastModifiedDateTime", "createdBy"] },
  message: {
    props: ["id", "createdDateTime", "lastModifiedDateTime", "changeKey", "categories", "receivedDateTime", "sentDateTime", "hasAttachments", "internetMessageId", "subject", "bodyPreview", "importance", "parentFolderId", "conversationId", "conversationIndex", "isDeliveryReceiptRequested", "isReadReceiptRequested", "isRead", "isDraft", "webLink", "inferenceClassification", "body", "toRecipients", "ccRecipients", "bccRecipients", "replyTo", "flag"],
  },
  mailFolder: { props: ["id", "displayName", "parentFolderId", "childFolderCount", "unreadItemCount", "totalItemCount", "isHidden"] },
  chatMessageHistoryItem: { props: ["actions", "modifiedDateTime", "reaction"] },
  membersAddedEventMessageDetail: { props: ["initiator", "members", "visibleHistoryStartDateTime"] },
  membersDeletedEventMessageDetail: { props: ["initiator", "members"] },
  chatRenamedEventMessageDetail: { props: ["initiator", "chatId", "chatDisplayName"] },
  teamsAppInstalledEventMessageDetail: { props: ["initiator", "teamsAppId", "teamsAppDisplayName"] },
  teamsAppRemovedEventMessageDetail: { props: ["initiator", "teamsAppId", "teamsAppDisplayName"] },
  teamsAppUpgradedEventMessageDetail: { props: ["initiator", "teamsAppId", "teamsAppDisplayName"] },
  identitySet: { props: ["application", "device", "user"] },
  itemBody: { props: ["contentType", "content"] },
  recipient: { props: ["emailAddress"] },
  emailAddress: { props: ["name", "address"] },
  followupFlag: { props: ["flagStatus"] },
  chatMessageFromIdentitySet: { props: ["application", "device", "user"] },
  chatMessageReactionIdentitySet: { props: ["application", "device", "user"] },
  teamworkUserIdentity: { props: ["id", "displayName", "userIdentityType"] },
};

// Properties the CSDL marks Nullable="false" (graph-api.md Part 1, NN): never JSON null.
const NON_NULL = {
  chat: ["chatType"],
  chatMessage: ["messageType", "body", "importance", "locale"],
  chatMessageInfo: ["messageType"],
  chatMessageReaction: ["reactionType", "createdDateTime", "user"],
  chatMessageHistoryItem: ["actions", "modifiedDateTime"],
  user: ["businessPhones"],
  dateTimeTimeZone: ["dateTime"],
};

// Abstract types: every instance names its concrete type (graph-api.md 1.12, 1.13, 3.14), or the
// SDKs build the base type and lose the subtype's properties.
const ABSTRACT = ["conversationMember", "eventMessageDetail", "attachment"];

// Open types' documented extras that the CSDL (and so the models) lack: teamworkUserIdentity's
// tenantId, and the tag Teams writes into mentioned identity sets (graph-api.md 1.6).
const EXTRAS = { teamworkUserIdentity: ["tenantId"], chatMessageMentionedIdentitySet: ["tag"] };

// Graph writes DateTimeOffset in UTC with a Z (graph-api.md 0.2), up to 7 fractional digits.
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?Z$/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DURATION = /^-?P(\d+D)?(T(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$/;

// A parse node that answers only the discriminator, for the generated factories.
const discriminator = (odataType) => ({
  getChildNode: (name) => (name === "@odata.type" && odataType ? { getStringValue: () => odataType } : undefined),
});

// How one property of a model is read: the deserializer is run against a node that records the
// call instead of parsing.
function probe(reader) {
  let seen = { kind: "unknown" };
  const record = (kind) => (arg) => {
    seen = { kind, arg };
    return undefined;
  };
  const node = new Proxy(
    {},
    {
      get: (_, method) =>
        ({
          getStringValue: record("string"),
          getBooleanValue: record("boolean"),
          getNumberValue: record("number"),
          getDateValue: record("dateTime"),
          getDateOnlyValue: record("date"),
          getTimeOnlyValue: record("time"),
          getDurationValue: record("duration"),
          getGuidValue: record("guid"),
          getByteArrayValue: record("binary"),
          getEnumValue: record("enum"),
          getCollectionOfEnumValues: record("enums"),
          getObjectValue: record("object"),
          getCollectionOfObjectValues: record("objects"),
          getCollectionOfPrimitiveValues: record("primitives"),
        })[method] ?? record(`other:${String(method)}`),
    },
  );
  reader(node);
  return seen;
}

const typeCache = new Map();

// The model of one type as a map property → how it is read; the type named by the
// deserializer the SDK would pick (deserializeIntoX → x).
function modelOf(factory, odataType) {
  const deserializer = factory(discriminator(odataType));
  const name = camel(deserializer.name.replace(/^deserializeInto/, ""));
  if (!typeCache.has(name)) {
    const readers = deserializer({});
    const props = new Map();
    for (const [prop, reader] of Object.entries(readers)) {
      if (prop === "backingStoreEnabled" || prop === "@odata.type") continue;
      props.set(prop, probe(reader));
    }
    typeCache.set(name, { name, props });
  }
  return typeCache.get(name);
}

const factoryFor = (typeName) => models[`create${pascal(typeName)}FromDiscriminatorValue`];

// Splits an @odata.context path on "/" outside parentheses and quotes.
function segments(path) {
  const out = [];
  let depth = 0;
  let quoted = false;
  let current = "";
  for (const ch of path) {
    if (ch === "'" && depth > 0) quoted = !quoted;
    if (!quoted && ch === "(") depth++;
    if (!quoted && ch === ")") depth--;
    if (ch === "/" && depth === 0 && !quoted) {
      out.push(current);
      current = "";
    } else current += ch;
  }
  out.push(current);
  return out;
}

// The type an @odata.context names, walking navigation properties through the models.
function contextType(context) {
  const hash = context.indexOf("#");
  if (hash < 0) return { error: `@odata.context without a fragment: ${context}` };
  const parts = segments(context.slice(hash + 1)).filter((s) => s !== "$entity" && s !== "$delta");
  let factory;
  for (const [i, part] of parts.entries()) {
    const name = part.replace(/\(.*\)$/s, "");
    const collection = /^Collection\((?:microsoft\.graph\.)?(.+)\)$/.exec(part);
    if (collection) {
      factory = factoryFor(collection[1]);
    } else if (i === 0) {
      const root = ROOTS[name] ?? (name.startsWith("microsoft.graph.") ? name.slice(16) : undefined);
      factory = root && factoryFor(root);
    } else if (name.startsWith("microsoft.graph.")) {
      factory = factoryFor(name.slice(16));
    } else {
      const nav = modelOf(factory).props.get(name);
      factory = nav && (nav.kind === "object" || nav.kind === "objects") ? nav.arg : undefined;
    }
    if (!factory) return { error: `@odata.context segment "${part}" names nothing in the v1.0 model: ${context}` };
  }
  return { factory };
}

const isAnnotation = (key) => key.startsWith("@") || key.includes("@odata.") || key.includes("@microsoft.graph.");

function checkValue(kind, arg, value, where, problems, options) {
  if (value === null) return;
  const fail = (what) => problems.push(`${where}: ${what}, got ${JSON.stringify(value)}`);
  switch (kind) {
    case "string":
      if (typeof value !== "string") fail("a string");
      break;
    case "boolean":
      if (typeof value !== "boolean") fail("a boolean");
      break;
    case "number":
      if (typeof value !== "number") fail("a number");
      break;
    case "dateTime":
      if (typeof value !== "string" || !DATE_TIME.test(value)) fail("a DateTimeOffset as Graph writes it (UTC, Z)");
      break;
    case "date":
      if (typeof value !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(value)) fail("a Date");
      break;
    case "guid":
      if (typeof value !== "string" || !GUID.test(value)) fail("a Guid");
      break;
    case "duration":
      if (typeof value !== "string" || !DURATION.test(value)) fail("an ISO 8601 duration");
      break;
    case "binary":
      if (typeof value !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) fail("base64");
      break;
    case "enum": {
      const members = Object.values(arg);
      // Flags enums are written as comma-separated member names.
      if (typeof value !== "string" || !value.split(",").every((m) => members.includes(m))) fail(`one of ${members.join("|")}`);
      // Evolvable enums: members after unknownFutureValue only for callers that ask for them
      // with Prefer: include-unknown-enum-members (graph-api.md 1.5); others get unknownFutureValue.
      const sentinel = members.indexOf("unknownFutureValue");
      if (!options.unknownEnumMembers && sentinel >= 0 && typeof value === "string" && value.split(",").some((m) => members.indexOf(m) > sentinel)) {
        fail("unknownFutureValue for an evolvable member without Prefer: include-unknown-enum-members");
      }
      break;
    }
    case "enums":
      // The models read flags enums (chatMessageHistoryItem.actions) as collections, but Graph
      // writes them as one comma-separated string (graph-api.md 1.10), which Kiota's JSON parse
      // node then drops: the SDK's limit, so both shapes pass here.
      if (typeof value === "string") checkValue("enum", arg, value, where, problems, options);
      else if (!Array.isArray(value)) fail("an array");
      else value.forEach((v, i) => checkValue("enum", arg, v, `${where}[${i}]`, problems, options));
      break;
    case "object":
      if (typeof value !== "object" || Array.isArray(value)) fail("an object");
      else checkObject(arg, value, where, problems, { ...options, selected: false });
      break;
    case "objects":
      if (!Array.isArray(value)) fail("an array");
      else value.forEach((v, i) => checkValue("object", arg, v, `${where}[${i}]`, problems, options));
      break;
    case "primitives":
      if (!Array.isArray(value) || value.some((v) => v !== null && typeof v === "object")) fail("an array of primitives");
      break;
    default:
      break; // untyped or unknown readers: nothing to say
  }
}

function checkObject(factory, object, where, problems, options) {
  const odataType = object["@odata.type"];
  const model = modelOf(factory, odataType);
  if (!odataType && ABSTRACT.includes(model.name)) problems.push(`${where}: a ${model.name} without @odata.type`);
  if (odataType && odataType !== `#microsoft.graph.${model.name}`) {
    problems.push(`${where}: @odata.type ${odataType} is not what the SDK reads here (${model.name})`);
  }
  const extras = EXTRAS[model.name] ?? [];
  for (const [key, value] of Object.entries(object)) {
    if (isAnnotation(key)) continue;
    const prop = model.props.get(key);
    if (!prop) {
      if (!extras.includes(key)) problems.push(`${where}.${key}: not a property of ${model.name} in Graph's model`);
      continue;
    }
    if (value === null && NON_NULL[model.name]?.includes(key)) problems.push(`${where}.${key}: null, but never null in Graph's model`);
    checkValue(prop.kind, prop.arg, value, `${where}.${key}`, problems, options);
  }
  const defaults = DEFAULTS[model.name];
  if (defaults && !options.selected) {
    for (const key of defaults.props) {
      if (!(key in object)) problems.push(`${where}: ${model.name} lacks default property ${key}`);
    }
    if (defaults.exact) {
      for (const key of Object.keys(object)) {
        if (!isAnnotation(key) && !defaults.props.includes(key)) problems.push(`${where}.${key}: not in ${model.name}'s default property set`);
      }
    }
  }
}

// Problems with one response body of a v1.0 request (url: the request's absolute URL; prefer:
// its Prefer header).
export function checkBody(url, body, prefer = "") {
  const problems = [];
  if (body === null || typeof body !== "object" || Array.isArray(body)) return problems;
  if ("error" in body && !("@odata.context" in body)) return problems; // the error envelope: the SDKs' error types check it
  const context = body["@odata.context"];
  // Graph names the type of every entity or collection it returns; $batch answers have none.
  if (!context) return new URL(url).pathname.endsWith("/$batch") ? problems : ["no @odata.context"];
  // Absolute, on the server's own origin and version (graph-api.md 3.3, 3.4): the SDKs' page
  // iterators follow nextLink verbatim.
  const request = new URL(url);
  const base = `${request.origin}/${request.pathname.split("/")[1]}/`;
  if (!context.startsWith(`${base}$metadata#`)) problems.push(`@odata.context not under ${base}$metadata#: ${context}`);
  const next = body["@odata.nextLink"];
  if (next !== undefined && !(typeof next === "string" && next.startsWith(base))) problems.push(`@odata.nextLink not under ${base}: ${next}`);
  const { factory, error } = contextType(context);
  if (error) return [...problems, error];
  const query = request.searchParams;
  const selected = [...query.keys()].some((k) => k.replace(/^%24/i, "$").toLowerCase() === "$select");
  const options = { selected, unknownEnumMembers: /include-unknown-enum-members/i.test(prefer) };
  if (Array.isArray(body.value)) {
    for (const key of Object.keys(body)) {
      if (key !== "value" && !isAnnotation(key)) problems.push(`collection response: unexpected member ${key}`);
    }
    body.value.forEach((item, i) => checkObject(factory, item, `value[${i}]`, problems, options));
  } else {
    checkObject(factory, body, "body", problems, options);
  }
  return problems;
}
