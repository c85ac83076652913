'use strict';
// /proc readers for the benchmark: RSS and CPU time of a process, listening-socket ownership.

const fs = require('node:fs');
const { execFileSync } = require('node:child_process');

let clkTck = 100;
try {
  clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { timeout: 5000 }).toString().trim()) || 100;
} catch { /* keep 100 */ }

/** VmRSS of `pid` in kB (null if the process is gone). */
function rssKb(pid) {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** utime+stime of `pid` in milliseconds (null if the process is gone). */
function cpuMs(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) may contain spaces and parentheses: split after the last ')'.
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state); utime is field 14, stime field 15.
    const ticks = Number(rest[11]) + Number(rest[12]);
    return (ticks * 1000) / clkTck;
  } catch {
    return null;
  }
}

/** Busy CPU time of the whole machine (all CPUs, everything but idle+iowait) in ms. */
function machineBusyMs() {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest* are already in user/nice)
    const busy = v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] || 0);
    return (busy * 1000) / clkTck;
  } catch {
    return null;
  }
}

/** Number of threads of `pid`. */
function threads(pid) {
  try {
    const m = /^Threads:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** True if `pid` owns a TCP socket LISTENing on `port` (IPv4 or IPv6). */
function ownsListener(pid, port) {
  const inodes = new Set();
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text;
    try { text = fs.readFileSync(f, 'utf8'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      if (cols[3] === '0A' && cols[1].endsWith(`:${hexPort}`)) inodes.add(cols[9]);
    }
  }
  if (inodes.size === 0) return false;
  let fds;
  try { fds = fs.readdirSync(`/proc/${pid}/fd`); } catch { return false; }
  for (const fd of fds) {
    let link;
    try { link = fs.readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { continue; }
    const m = /^socket:\[(\d+)\]$/.exec(link);
    if (m && inodes.has(m[1])) return true;
  }
  return false;
}

module.exports = { rssKb, cpuMs, threads, ownsListener, machineBusyMs, clkTck };
