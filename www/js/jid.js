// JIDs (RFC 7622), with the simple normalisation a web client needs: the local part and the
// domain are compared case-insensitively (NFC + lower case), the resource is kept as typed
// (NFC). Pure module: no DOM.

export class JidError extends Error {
  constructor(message) {
    super(message);
    this.name = 'JidError';
  }
}

const enc = new TextEncoder();
const byteLength = (s) => enc.encode(s).length;

// RFC 7622 §3.3.1 forbids these in a local part; spaces and controls are not allowed either.
const LOCAL_FORBIDDEN = /["&'/:<>@\s\u0000-\u001F\u007F]/u;
const DOMAIN_FORBIDDEN = /[\s\u0000-\u001F\u007F"&'<>@/\\]/u;
const RESOURCE_FORBIDDEN = /[\u0000-\u001F\u007F]/u;

export class Jid {
  constructor(local, domain, resource) {
    this.local = local || null;
    this.domain = domain;
    this.resource = resource || null;
  }

  get bare() {
    return this.local ? `${this.local}@${this.domain}` : this.domain;
  }

  get full() {
    return this.resource ? `${this.bare}/${this.resource}` : this.bare;
  }

  toString() {
    return this.full;
  }

  withResource(resource) {
    return new Jid(this.local, this.domain, resource);
  }

  toBare() {
    return new Jid(this.local, this.domain, null);
  }

  equals(other) {
    const o = other instanceof Jid ? other : tryParseJid(other);
    return !!o && o.full === this.full;
  }
}

function normaliseDomain(d) {
  let domain = d.normalize('NFC').toLowerCase();
  if (domain.endsWith('.')) domain = domain.slice(0, -1);
  if (!domain) throw new JidError('the domain part is empty');
  if (domain.startsWith('[')) {
    if (!/^\[[0-9a-f:.]+\]$/.test(domain)) throw new JidError('the domain is not a valid IPv6 literal');
  } else {
    if (DOMAIN_FORBIDDEN.test(domain)) throw new JidError('the domain contains characters that are not allowed');
    if (domain.split('.').some((label) => label === '')) throw new JidError('the domain has an empty label');
  }
  if (byteLength(domain) > 1023) throw new JidError('the domain is too long');
  return domain;
}

/** Parse "local@domain/resource" (local and resource optional); throws JidError. */
export function parseJid(input) {
  if (typeof input !== 'string') throw new JidError('not a string');
  if (input === '') throw new JidError('the address is empty');
  const slash = input.indexOf('/');
  const head = slash < 0 ? input : input.slice(0, slash);
  let resource = slash < 0 ? null : input.slice(slash + 1);
  const at = head.indexOf('@');
  let local = at < 0 ? null : head.slice(0, at);
  const domain = normaliseDomain(at < 0 ? head : head.slice(at + 1));
  if (local !== null) {
    if (local === '') throw new JidError('the part before @ is empty');
    local = local.normalize('NFC').toLowerCase();
    if (LOCAL_FORBIDDEN.test(local)) throw new JidError('the part before @ contains characters that are not allowed');
    if (byteLength(local) > 1023) throw new JidError('the part before @ is too long');
  }
  if (resource !== null) {
    if (resource === '') throw new JidError('the resource after / is empty');
    resource = resource.normalize('NFC');
    if (RESOURCE_FORBIDDEN.test(resource)) throw new JidError('the resource contains control characters');
    if (byteLength(resource) > 1023) throw new JidError('the resource is too long');
  }
  return new Jid(local, domain, resource);
}

/** parseJid, or null when the input is not a valid JID. */
export function tryParseJid(input) {
  try {
    return parseJid(input);
  } catch {
    return null;
  }
}

/** The normalised bare JID of a string, or '' if it is not a valid JID. */
export function bareJid(input) {
  const j = tryParseJid(input);
  return j ? j.bare : '';
}

/** The resource of a string JID, or '' (e.g. the nickname of a MUC occupant). */
export function resourceOf(input) {
  const j = tryParseJid(input);
  return j && j.resource ? j.resource : '';
}

/** A user account address: needs a local part (a resource, if given, is the one to ask for). */
export function parseAccountJid(input) {
  const j = parseJid(String(input).trim());
  if (!j.local) throw new JidError('an account address looks like name@example.org');
  return j;
}
