// Plain-words messages for everything that can end a session: BOSH terminate conditions
// (XEP-0124 §17.2, XEP-0206), stream errors (RFC 6120 §4.9.3), WebSocket close codes
// (RFC 6455 §7.4), SASL failures (RFC 6120 §6.5) and network failures. Pure module.
//
// describe*() return { message, retry } where `retry` says whether reconnecting
// automatically can help.

import { NS, child, children } from './xml.js';

const STREAM_ERRORS = {
  'bad-format': ['The server could not read what this page sent (bad-format).', false],
  'bad-namespace-prefix': ['The server refused the data this page sent (bad-namespace-prefix).', false],
  conflict: ['You logged in again somewhere else with the same session, so this one was closed (conflict).', false],
  'connection-timeout': ['The server closed the connection because it was idle for too long.', true],
  'host-gone': ['The chat server for this domain no longer exists (host-gone).', false],
  'host-unknown': ['This server does not serve that domain (host-unknown). Check the part of your address after the @.', false],
  'improper-addressing': ['The server refused the message addressing (improper-addressing).', false],
  'internal-server-error': ['The chat server had an internal error.', true],
  'invalid-from': ['The server refused the sender address (invalid-from).', false],
  'invalid-namespace': ['The server refused the data this page sent (invalid-namespace).', false],
  'invalid-xml': ['The server refused invalid XML from this page (invalid-xml).', false],
  'not-authorized': ['The server says you are not logged in or not allowed to do this (not-authorized).', false],
  'not-well-formed': ['The server received broken XML from this page (not-well-formed).', false],
  'policy-violation': ['The server closed the session because a limit was exceeded, for example a message that is too large or too many messages too fast (policy-violation).', false],
  'remote-connection-failed': ['The gateway could not reach the chat server (remote-connection-failed). It may be down; try again later.', true],
  reset: ['The server reset the session (for example after a security change); logging in again.', true],
  'resource-constraint': ['The server is too busy right now (resource-constraint).', true],
  'restricted-xml': ['The server refused XML features that XMPP does not allow (restricted-xml).', false],
  'see-other-host': ['The server asked to connect elsewhere (see-other-host).', false],
  'system-shutdown': ['The server is shutting down or restarting (system-shutdown).', true],
  'undefined-condition': ['The server closed the session for an unspecified reason.', true],
  'unsupported-encoding': ['The server refused the text encoding this page used (unsupported-encoding).', false],
  'unsupported-feature': ['The server lacks a feature this page needs (unsupported-feature).', false],
  'unsupported-stanza-type': ['The server refused a kind of data this page sent (unsupported-stanza-type).', false],
  'unsupported-version': ['The server does not speak this XMPP version (unsupported-version).', false],
};

const BOSH_CONDITIONS = {
  'bad-request': ['The gateway could not understand a request from this page (bad-request).', false],
  'host-gone': ['The chat server for this domain no longer exists (host-gone).', false],
  'host-unknown': ['The gateway does not serve that domain (host-unknown). Check the part of your address after the @.', false],
  'improper-addressing': ['The connection request was addressed wrongly (improper-addressing).', false],
  'internal-server-error': ['The gateway had an internal error.', true],
  'item-not-found': ['The gateway no longer knows this session: it expired or the gateway was restarted (item-not-found).', true],
  'other-request': ['Another request took the place of this one (other-request).', true],
  'policy-violation': ['The gateway closed the session because a limit was exceeded (policy-violation).', false],
  'remote-connection-failed': ['The gateway could not reach the chat server (remote-connection-failed). It may be down; try again later.', true],
  'remote-stream-error': ['The chat server closed the session with an error (remote-stream-error).', true],
  'see-other-uri': ['The gateway asked this page to use a different address (see-other-uri).', false],
  'system-shutdown': ['The gateway is shutting down or restarting (system-shutdown).', true],
  'undefined-condition': ['The gateway ended the session for an unspecified reason.', true],
};

const WS_CLOSE = {
  1000: ['The connection was closed.', true],
  1001: ['The gateway is going away (shutting down or restarting).', true],
  1002: ['The gateway closed the connection because of a protocol error (WebSocket code 1002).', false],
  1003: ['The gateway refused data it cannot accept (WebSocket code 1003).', false],
  1005: ['The connection was closed without a reason.', true],
  1006: ['The connection was lost unexpectedly: the gateway could not be reached or the network dropped (WebSocket code 1006).', true],
  1007: ['The gateway refused text that was not valid UTF-8 (WebSocket code 1007).', false],
  1008: ['The gateway refused the connection because of its policy, for example this page\'s origin is not allowed (WebSocket code 1008).', false],
  1009: ['A message was too large for the gateway (WebSocket code 1009).', false],
  1011: ['The gateway had an internal error (WebSocket code 1011).', true],
  1012: ['The gateway is restarting (WebSocket code 1012).', true],
  1013: ['The gateway is overloaded; try again later (WebSocket code 1013).', true],
  1015: ['The secure (TLS) connection to the gateway failed (WebSocket code 1015).', false],
};

const SASL_FAILURES = {
  'not-authorized': 'Wrong address or password.',
  'account-disabled': 'This account is disabled.',
  'credentials-expired': 'Your saved login is no longer valid; please enter your password again.',
  'encryption-required': 'The server only accepts this login method over an encrypted connection.',
  'incorrect-encoding': 'The login data was not encoded correctly.',
  'invalid-authzid': 'The server refused the authorization identity.',
  'invalid-mechanism': 'The server does not accept this login method.',
  'malformed-request': 'The login exchange went wrong (malformed request).',
  'mechanism-too-weak': 'The server wants a stronger login method than this page can offer.',
  'temporary-auth-failure': 'The server could not check the password right now; try again in a moment.',
  aborted: 'The login was aborted.',
  'server-signature': 'The server could not prove that it knows your password; the login was stopped for your safety.',
  'no-webcrypto': 'This browser cannot compute the secure login here (the page needs https or localhost).',
  'no-mechanism': 'The server offers no login method this page supports.',
};

export function describeStreamError(condition, text = '') {
  const [message, retry] = STREAM_ERRORS[condition] || [`The server closed the session with the error "${condition}".`, true];
  return { message: withText(message, text), retry };
}

/** A BOSH terminate condition; `streamError` is the inner condition for remote-stream-error. */
export function describeBoshCondition(condition, streamError = null, text = '') {
  if (condition === 'remote-stream-error' && streamError) return describeStreamError(streamError, text);
  const [message, retry] = BOSH_CONDITIONS[condition] || [`The gateway ended the session ("${condition}").`, true];
  return { message: withText(message, text), retry };
}

export function describeWsClose(code, reason = '') {
  const [message, retry] = WS_CLOSE[code] || [`The connection was closed (WebSocket code ${code}).`, true];
  return { message: reason ? `${message} Reason given: ${reason}.` : message, retry };
}

export function describeSaslFailure(condition, text = '') {
  const message = SASL_FAILURES[condition] || `The login failed (${condition}).`;
  // A wrong password stays wrong: retrying automatically would only lock the account.
  return { message: withText(message, text), retry: condition === 'temporary-auth-failure' };
}

export function describeHttpStatus(status) {
  if (status === 404) return { message: 'The gateway does not know this session or address (HTTP 404).', retry: true };
  if (status === 403) return { message: 'The gateway refused the request (HTTP 403).', retry: false };
  if (status === 400) return { message: 'The gateway could not understand a request from this page (HTTP 400).', retry: false };
  if (status >= 500) return { message: `The gateway or a proxy in front of it failed (HTTP ${status}).`, retry: true };
  return { message: `Unexpected answer from the gateway (HTTP ${status}).`, retry: true };
}

function withText(message, text) {
  const t = String(text || '').trim();
  return t && !message.includes(t) ? `${message} The server said: "${t}".` : message;
}

/**
 * Turn what ended a connection into a message. `info` is what a transport reports:
 *   { streamError: {condition, text}?, boshCondition?, wsCode?, wsReason?, httpStatus?,
 *     network?: true, message? }
 * The most specific cause wins: stream error, then BOSH condition, then close code.
 */
export function describeEnd(info = {}) {
  if (info.streamError && info.boshCondition !== 'remote-stream-error' && info.streamError.condition) {
    return describeStreamError(info.streamError.condition, info.streamError.text);
  }
  if (info.boshCondition) {
    return describeBoshCondition(info.boshCondition, info.streamError && info.streamError.condition,
      info.streamError && info.streamError.text);
  }
  if (info.httpStatus) return describeHttpStatus(info.httpStatus);
  if (info.wsCode !== undefined && info.wsCode !== null) {
    if (info.wsCode === 1006 && !info.opened) {
      return { message: 'The gateway could not be reached (the WebSocket connection failed). Check your network connection.', retry: true };
    }
    return describeWsClose(info.wsCode, info.wsReason);
  }
  if (info.network) {
    return { message: info.message || 'The gateway could not be reached. Check your network connection.', retry: true };
  }
  return { message: info.message || 'The connection ended.', retry: true };
}

/** Something ended the connection or the login; `info` as in describeEnd(). */
export class ConnectionEnded extends Error {
  constructor(info, message = describeEnd(info).message) {
    super(message);
    this.name = 'ConnectionEnded';
    this.info = info;
    this.retry = describeEnd(info).retry;
  }
}

/** An iq answered with type='error' (or not answered in time). */
export class StanzaError extends Error {
  constructor(err) {
    super(err.text || err.condition);
    this.name = 'StanzaError';
    this.condition = err.condition;
  }
}

/** { condition, text } of a <stream:error/> element. */
export function streamErrorInfo(elem) {
  const c = children(elem).find((x) => x.namespaceURI === NS.STREAM_ERRORS && x.localName !== 'text');
  const text = child(elem, 'text', NS.STREAM_ERRORS);
  return { condition: c ? c.localName : 'undefined-condition', text: text ? text.textContent : '' };
}

/** Protocol logs never show SASL payloads (PLAIN carries the password). */
export function redact(text) {
  return String(text).replace(/(<(auth|response|challenge|success)\b[^>]*>)[^<]*/g, '$1[redacted]');
}
