'use strict';
// A tiny authoritative DNS server on 127.0.0.1 (UDP) for the SRV tests: answers SRV queries
// from a table, NXDOMAIN for everything else. Enough of RFC 1035 for glibc's res_nquery.
//
//   const dns = await startFakeDns({ '_xmpp-client._tcp.example.com': [{ priority: 0, weight: 0, port: 5222, target: 'localhost' }] });
//   dns.port, dns.queries (names asked), await dns.stop()
//   A record list with target '.' is the RFC 2782 "no service" answer.

const dgram = require('node:dgram');

function encodeName(name) {
  if (name === '.' || name === '') return Buffer.from([0]);
  const parts = name.replace(/\.$/, '').split('.');
  return Buffer.concat([...parts.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p, 'ascii')])), Buffer.from([0])]);
}

/** The question name and the end offset of the question section. */
function readQuestion(msg) {
  let off = 12;
  const labels = [];
  while (msg[off] !== 0) {
    const len = msg[off];
    labels.push(msg.subarray(off + 1, off + 1 + len).toString('ascii'));
    off += 1 + len;
  }
  off += 1;
  const type = msg.readUInt16BE(off);
  return { name: labels.join('.').toLowerCase(), type, end: off + 4 };
}

function answer(msg, table) {
  const q = readQuestion(msg);
  const records = q.type === 33 ? table[q.name] : undefined;
  const head = Buffer.alloc(12);
  msg.copy(head, 0, 0, 2); // id
  const rcode = records ? 0 : 3; // NXDOMAIN otherwise
  head.writeUInt16BE(0x8400 | (msg.readUInt16BE(2) & 0x0100) | 0x0080 | rcode, 2); // QR AA RD? RA
  head.writeUInt16BE(1, 4);
  head.writeUInt16BE(records ? records.length : 0, 6);
  const question = msg.subarray(12, q.end);
  const rrs = (records || []).map((r) => {
    const target = encodeName(r.target);
    const rdata = Buffer.concat([Buffer.alloc(6), target]);
    rdata.writeUInt16BE(r.priority || 0, 0);
    rdata.writeUInt16BE(r.weight || 0, 2);
    rdata.writeUInt16BE(r.port, 4);
    const fixed = Buffer.alloc(12);
    fixed.writeUInt16BE(0xc00c, 0); // pointer to the question name
    fixed.writeUInt16BE(33, 2); // SRV
    fixed.writeUInt16BE(1, 4); // IN
    fixed.writeUInt32BE(60, 6); // TTL
    fixed.writeUInt16BE(rdata.length, 10);
    return Buffer.concat([fixed, rdata]);
  });
  return { name: q.name, reply: Buffer.concat([head, question, ...rrs]) };
}

async function startFakeDns(table = {}) {
  const sock = dgram.createSocket('udp4');
  const queries = [];
  const lower = Object.fromEntries(Object.entries(table).map(([k, v]) => [k.toLowerCase(), v]));
  sock.on('message', (msg, rinfo) => {
    try {
      const { name, reply } = answer(msg, lower);
      queries.push(name);
      sock.send(reply, rinfo.port, rinfo.address);
    } catch { /* malformed query: no answer */ }
  });
  await new Promise((resolve) => sock.bind(0, '127.0.0.1', resolve));
  return {
    port: sock.address().port,
    queries,
    set(name, records) { lower[name.toLowerCase()] = records; },
    stop: () => new Promise((resolve) => sock.close(resolve)),
  };
}

module.exports = { startFakeDns };
