import { parse, UsageError } from './args.js';
import { modbusMeterSchema, type ModbusMeterConfig } from '../../config/meter.js';
import { formatIssues } from '../../config/errors.js';
import { createModbusMeter } from '../../meter/modbus/index.js';
import { defaultLines, defaultUnitIds, formatIds, parseIds, scanBus } from '../../meter/modbus/scan.js';
import { loadModels } from '../../meter/modbus/model.js';
import { MeterReadError } from '../../meter/modbus/meter.js';
import { silentLogger } from '../../log.js';
import type { MeterSnapshot } from '../../hal/types.js';

/** sysexits EX_UNAVAILABLE: the meter did not answer. */
const EXIT_NO_METER = 69;
/** sysexits EX_CONFIG: the meter answers but is another model, or set otherwise than its map reads. */
const EXIT_MISCONFIGURED = 78;

const USAGE = `usage:
  evsed meter read --model MODEL --transport serial|tcp-rtu|tcp (--path DEV | --host HOST [--port N])
                   [--unit-id N] [--baud-rate N] [--parity none|even|odd] [--stop-bits 1|2] [--data-bits 7|8]
                   [--timeout-ms N] [--watch [--interval-ms N] [--count N]] [--json]
  evsed meter scan --transport serial|tcp-rtu|tcp (--path DEV | --host HOST [--port N])
                   [--unit-ids 1-10,33] [--baud-rates 9600,2400] [--parity none|even|odd] [--models sdm630,em340]
                   [--timeout-ms N]
  evsed meter models

  Serial settings and unit id default to the model's factory settings (hardware/meters/MODEL.json).
  read checks the meter first (model code, settings its map assumes): another model or a wrong setting
  is reported with the register and the fix, exit 78; no answer exits 69.`;

const CONNECTION = {
  transport: { type: 'string' },
  path: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  'timeout-ms': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `evsed meter ...`: argv is the words after `meter`; returns the exit code. */
export async function meterCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    switch (sub) {
      case 'read':
        return await readCommand(rest);
      case 'scan':
        return await scanCommand(rest);
      case 'models':
        return modelsCommand();
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        console.log(USAGE);
        return sub ? 0 : 64;
      default:
        throw new UsageError(`unknown subcommand "${sub}"\n${USAGE}`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`evsed meter: ${err.message}`);
      return err.exitCode;
    }
    console.error(`evsed meter ${sub}: ${(err as Error).message}`);
    return isMisconfigured(err) ? EXIT_MISCONFIGURED : EXIT_NO_METER;
  }
}

const isMisconfigured = (err: unknown) => err instanceof MeterReadError && err.kind === 'misconfigured';

function num(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || v.trim() === '') throw new UsageError(`--${flag}: must be a number (got "${v}")`);
  return n;
}

const FLAG_OF: Record<string, string> = { unitId: 'unit-id', baudRate: 'baud-rate', stopBits: 'stop-bits', dataBits: 'data-bits', timeoutMs: 'timeout-ms' };

/** Validate with the config schema, so the CLI and the config file give the same advice. */
function toConfig(raw: Record<string, unknown>): ModbusMeterConfig {
  const data = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined));
  const r = modbusMeterSchema.safeParse(data, { reportInput: true });
  if (r.success) return r.data;
  const lines = formatIssues(modbusMeterSchema, r.error.issues, data).map((l) => {
    const key = l.slice(0, l.indexOf(':'));
    return `--${FLAG_OF[key] ?? key}${l.slice(key.length)}`;
  });
  throw new UsageError(`${lines.join('\n')}\n${USAGE}`);
}

async function readCommand(argv: string[]): Promise<number> {
  const { values: o } = parse(argv, {
    ...CONNECTION,
    model: { type: 'string' },
    'unit-id': { type: 'string' },
    'baud-rate': { type: 'string' },
    parity: { type: 'string' },
    'stop-bits': { type: 'string' },
    'data-bits': { type: 'string' },
    watch: { type: 'boolean' },
    'interval-ms': { type: 'string' },
    count: { type: 'string' },
    json: { type: 'boolean' },
  }, USAGE);
  if (o.help) {
    console.log(USAGE);
    return 0;
  }
  if (!o.model) throw new UsageError(`--model is required (one of ${[...loadModels().keys()].join(' | ')})\n${USAGE}`);
  const cfg = toConfig({
    model: o.model,
    transport: o.transport,
    path: o.path,
    host: o.host,
    port: num('port', o.port),
    unitId: num('unit-id', o['unit-id']),
    baudRate: num('baud-rate', o['baud-rate']),
    parity: o.parity,
    stopBits: num('stop-bits', o['stop-bits']),
    dataBits: num('data-bits', o['data-bits']),
    timeoutMs: num('timeout-ms', o['timeout-ms']),
  });
  const meter = await createModbusMeter(cfg, { connectorId: 0, log: silentLogger() });
  const unitId = cfg.unitId ?? meter.model.defaults.unitId;
  const header = `${meter.model.title} (${meter.model.model}), unit ${unitId} on ${meter.where}`;
  const interval = num('interval-ms', o['interval-ms']) ?? 1000;
  const count = o.watch ? num('count', o.count) ?? Infinity : 1;
  let stop = false;
  const onSig = () => (stop = true);
  process.once('SIGINT', onSig);
  try {
    let failures = 0;
    let misconfigured = false;
    for (let i = 0; i < count && !stop; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, interval));
      try {
        const s = await meter.read();
        failures = 0;
        if (o.json) console.log(JSON.stringify({ model: meter.model.model, unitId, ...s }));
        else {
          if (o.watch && process.stdout.isTTY) process.stdout.write('\x1b[H\x1b[2J');
          console.log(formatSnapshot(header, s));
        }
      } catch (err) {
        if (!o.watch) throw err;
        failures++;
        misconfigured ||= isMisconfigured(err);
        console.error(`${new Date().toISOString()} ${(err as Error).message}`);
      }
    }
    if (o.watch && failures > 0) return misconfigured ? EXIT_MISCONFIGURED : EXIT_NO_METER;
    return 0;
  } finally {
    process.removeListener('SIGINT', onSig);
    await meter.close();
  }
}

const fix = (v: number, d: number) => (Number.isFinite(v) ? v.toFixed(d) : 'n/a');

export function formatSnapshot(header: string, s: MeterSnapshot): string {
  const cols = s.voltageV.length;
  const row = (label: string, vals: number[], d: number, unit: string) =>
    `  ${label.padEnd(10)}${vals.map((v) => fix(v, d).padStart(10)).join('')}  ${unit}`;
  const lines = [
    header,
    `  energy import ${(s.energyImportWh / 1000).toFixed(3)} kWh (${s.energyImportWh} Wh)`,
  ];
  if (s.energyExportWh !== undefined) lines.push(`  energy export ${(s.energyExportWh / 1000).toFixed(3)} kWh`);
  lines.push(`  power         ${fix(s.powerW, 1)} W`);
  lines.push(`  ${''.padEnd(10)}${Array.from({ length: cols }, (_, i) => `L${i + 1}`.padStart(10)).join('')}`);
  lines.push(row('voltage', s.voltageV, 1, 'V'), row('current', s.currentA, 3, 'A'), row('power', s.powerPhaseW, 1, 'W'));
  if (s.frequencyHz !== undefined) lines.push(`  frequency     ${fix(s.frequencyHz, 2)} Hz`);
  return lines.join('\n');
}

async function scanCommand(argv: string[]): Promise<number> {
  const { values: o } = parse(argv, {
    ...CONNECTION,
    'unit-ids': { type: 'string' },
    'baud-rates': { type: 'string' },
    parity: { type: 'string' },
    models: { type: 'string' },
  }, USAGE);
  if (o.help) {
    console.log(USAGE);
    return 0;
  }
  const transport = o.transport;
  if (transport !== 'serial' && transport !== 'tcp-rtu' && transport !== 'tcp') throw new UsageError(`--transport: must be one of serial | tcp-rtu | tcp (got ${JSON.stringify(transport ?? null)})\n${USAGE}`);
  if (transport === 'serial' && !o.path) throw new UsageError(`--path is required for transport serial (e.g. /dev/ttyUSB0)\n${USAGE}`);
  if (transport !== 'serial' && !o.host) throw new UsageError(`--host is required for transport ${transport}\n${USAGE}`);
  let unitIds: number[];
  try {
    unitIds = o['unit-ids'] ? parseIds(o['unit-ids']) : defaultUnitIds();
  } catch (err) {
    throw new UsageError(`--unit-ids: ${(err as Error).message}`);
  }
  const known = [...loadModels().keys()];
  const models = o.models?.split(',').map((m) => m.trim());
  for (const m of models ?? []) if (!known.includes(m)) throw new UsageError(`--models: unknown model "${m}" (known: ${known.join(', ')})`);
  if (o.parity && !['none', 'even', 'odd'].includes(o.parity)) throw new UsageError(`--parity: must be one of none | even | odd (got "${o.parity}")`);
  let lines = defaultLines();
  if (o['baud-rates']) {
    const bauds = o['baud-rates'].split(',').map((b) => num('baud-rates', b)!);
    const parities = o.parity ? [o.parity as 'none'] : ['none', 'even'] as const;
    lines = bauds.flatMap((baudRate) => parities.map((parity) => ({ baudRate, parity, dataBits: 8, stopBits: 1 })));
  } else if (o.parity) {
    lines = lines.map((l) => ({ ...l, parity: o.parity as 'none' }));
  }
  const timeoutMs = num('timeout-ms', o['timeout-ms']) ?? (transport === 'serial' ? 300 : 500);
  const hits = await scanBus(
    { bus: { transport, path: o.path, host: o.host, port: num('port', o.port) ?? 502 }, lines, unitIds, models, timeoutMs },
    (msg) => console.log(msg),
  );
  if (!hits.length) {
    console.log(`no meter answered (unit ids ${formatIds(unitIds)}${transport === 'serial' ? `, ${lines.length} line setting(s)` : ''}): check A/B wiring, termination and power of the meter`);
    return EXIT_NO_METER;
  }
  console.log('found:');
  for (const h of hits) console.log(`  ${h.line} unit ${h.unitId}: ${h.models.length ? h.models.join(' | ') : 'unknown model'}`);
  return 0;
}

function modelsCommand(): number {
  for (const m of loadModels().values()) {
    const d = m.defaults;
    console.log(`${m.model.padEnd(10)} ${m.title} (default ${d.baudRate} ${d.dataBits}${d.parity[0]!.toUpperCase()}${d.stopBits}, unit ${d.unitId})`);
  }
  return 0;
}
