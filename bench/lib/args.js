'use strict';
// Command-line parsing shared by the benchmarks (bench/ws-bench.js, bench/bosh-bench.js).
//
//   parseArgs(argv, { defaults, options, paths, usage })
//     options: { '--flag': { key, type, min, max } } with type
//       'int'   a number in min..max, rounded
//       'num'   a number in min..max
//       'str'   the value as given
//       'path'  path.resolve(value)
//       'false' no value; sets key to false (--no-save, --no-presence)
//     Every flag takes `--flag VALUE` or `--flag=VALUE`; --help / -h prints usage() and exits 0.
//   Afterwards: sessions rounded up to even, pathList = the --paths list checked against `paths`.

const path = require('node:path');

/** The defaults both benchmarks share; each adds paths, out and its own keys. */
const COMMON_DEFAULTS = {
  sessions: 500,
  rate: 400,
  duration: 20,
  inflight: 50,
  warmup: 10,
  settle: 2,
  drain: 10,
  loginTimeout: 30,
  loginPhaseLimit: 600,
  bodyBytes: 0,
  presence: true,
  gwBin: path.join(__dirname, '..', '..', 'build-release', 'xmppgw'),
  save: true,
  waitIdle: 60,
};

const COMMON_OPTIONS = {
  '--sessions': { key: 'sessions', type: 'int', min: 2, max: 20000 },
  '--rate': { key: 'rate', type: 'num', min: 1, max: 100000 },
  '--duration': { key: 'duration', type: 'num', min: 1, max: 600 },
  '--inflight': { key: 'inflight', type: 'int', min: 1, max: 1000 },
  '--warmup': { key: 'warmup', type: 'int', min: 0, max: 1000 },
  '--settle': { key: 'settle', type: 'num', min: 0, max: 60 },
  '--drain': { key: 'drain', type: 'num', min: 0, max: 300 },
  '--paths': { key: 'paths', type: 'str' },
  '--body-bytes': { key: 'bodyBytes', type: 'int', min: 0, max: 100000 },
  '--no-presence': { key: 'presence', type: 'false' },
  '--gw-bin': { key: 'gwBin', type: 'path' },
  '--out': { key: 'out', type: 'path' },
  '--no-save': { key: 'save', type: 'false' },
  '--wait-idle': { key: 'waitIdle', type: 'num', min: 0, max: 3600 },
};

function parseArgs(argv, { defaults, options = COMMON_OPTIONS, paths, usage }) {
  const o = { ...defaults };
  const num = (a, v, min, max) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max) throw new Error(`${a}: want a number in ${min}..${max}, got ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    let v;
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0) { v = a.slice(eq + 1); a = a.slice(0, eq); }
    const val = () => {
      if (v !== undefined) return v;
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--help' || a === '-h') { process.stdout.write(`${usage()}\n`); process.exit(0); }
    const spec = options[a];
    if (!spec) throw new Error(`unknown argument ${a}\n${usage()}`);
    switch (spec.type) {
      case 'int': o[spec.key] = Math.round(num(a, val(), spec.min, spec.max)); break;
      case 'num': o[spec.key] = num(a, val(), spec.min, spec.max); break;
      case 'str': o[spec.key] = val(); break;
      case 'path': o[spec.key] = path.resolve(val()); break;
      case 'false': o[spec.key] = false; break;
      default: throw new Error(`args.js: bad option type ${spec.type} for ${a}`);
    }
  }
  if (o.sessions % 2) { o.sessions += 1; }
  o.pathList = o.paths.split(',').map((s) => s.trim()).filter(Boolean);
  const known = Object.keys(paths);
  for (const p of o.pathList) if (!paths[p]) throw new Error(`--paths: unknown path ${p} (${known.join(', ')})`);
  return o;
}

module.exports = { parseArgs, COMMON_OPTIONS, COMMON_DEFAULTS };
