import { UsageError } from './args.js';
import { parseArgv } from '../define.js';
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

type Options = Record<string, string | boolean | undefined>;

/** `evsed meter read|scan|models` with its options parsed (src/cli/commands/index.ts); returns the exit code. */
export async function meterMain(sub: 'read' | 'scan' | 'models', o: Options): Promise<number> {
  try {
    if (sub === 'read') return await readCommand(o);
    if (sub === 'scan') return await scanCommand(o);
    return modelsCommand();
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`evsed meter ${sub}: ${err.message}\n(add --help for usage and examples)`);
      return err.exitCode;
    }
    console.error(`evsed meter ${sub}: ${(err as Error).message}`);
    return isMisconfigured(err) ? EXIT_MISCONFIGURED : EXIT_NO_METER;
  }
}

/** `evsed meter ...` from its words after `meter` (as the tests call it); returns the exit code. */
export async function meterCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'read' && sub !== 'scan' && sub !== 'models') {
    console.error(`evsed meter: unknown subcommand "${sub ?? ''}" (read, scan or models)`);
    return 64;
  }
  let o: Options;
  try {
    o = parseArgv(['meter', sub], rest);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`evsed meter ${sub}: ${err.message}`);
    return err.exitCode;
  }
  return meterMain(sub, o);
}

const isMisconfigured = (err: unknown) => err instanceof MeterReadError && err.kind === 'misconfigured';

function num(flag: string, value: string | boolean | undefined): number | undefined {
  if (value === undefined) return undefined;
  const v = String(value);
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
  throw new UsageError(lines.join('\n'));
}

async function readCommand(o: Options): Promise<number> {
  const str = (v: string | boolean | undefined) => (typeof v === 'string' ? v : undefined);
  const cfg = toConfig({
    model: str(o.model),
    transport: str(o.transport),
    path: str(o.path),
    host: str(o.host),
    port: num('port', o.port),
    unitId: num('unit-id', o.unitId),
    baudRate: num('baud-rate', o.baudRate),
    parity: str(o.parity),
    stopBits: num('stop-bits', o.stopBits),
    dataBits: num('data-bits', o.dataBits),
    timeoutMs: num('timeout-ms', o.timeoutMs),
  });
  const meter = await createModbusMeter(cfg, { connectorId: 0, log: silentLogger() });
  const unitId = cfg.unitId ?? meter.model.defaults.unitId;
  const header = `${meter.model.title} (${meter.model.model}), unit ${unitId} on ${meter.where}`;
  const interval = num('interval-ms', o.intervalMs) ?? 1000;
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

async function scanCommand(o: Options): Promise<number> {
  const str = (v: string | boolean | undefined) => (typeof v === 'string' ? v : undefined);
  const transport = str(o.transport);
  if (transport !== 'serial' && transport !== 'tcp-rtu' && transport !== 'tcp') throw new UsageError(`--transport: must be one of serial | tcp-rtu | tcp (got ${JSON.stringify(transport ?? null)})`);
  if (transport === 'serial' && !o.path) throw new UsageError('--path is required for transport serial (e.g. /dev/ttyUSB0)');
  if (transport !== 'serial' && !o.host) throw new UsageError(`--host is required for transport ${transport}`);
  let unitIds: number[];
  try {
    unitIds = typeof o.unitIds === 'string' ? parseIds(o.unitIds) : defaultUnitIds();
  } catch (err) {
    throw new UsageError(`--unit-ids: ${(err as Error).message}`);
  }
  const known = [...loadModels().keys()];
  const models = str(o.models)?.split(',').map((m) => m.trim());
  for (const m of models ?? []) if (!known.includes(m)) throw new UsageError(`--models: unknown model "${m}" (known: ${known.join(', ')})`);
  const parity = str(o.parity);
  if (parity && !['none', 'even', 'odd'].includes(parity)) throw new UsageError(`--parity: must be one of none | even | odd (got "${parity}")`);
  let lines = defaultLines();
  const baudRates = str(o.baudRates);
  if (baudRates) {
    const bauds = baudRates.split(',').map((b) => num('baud-rates', b)!);
    const parities = parity ? [parity as 'none'] : ['none', 'even'] as const;
    lines = bauds.flatMap((baudRate) => parities.map((parity) => ({ baudRate, parity, dataBits: 8, stopBits: 1 })));
  } else if (parity) {
    lines = lines.map((l) => ({ ...l, parity: parity as 'none' }));
  }
  const timeoutMs = num('timeout-ms', o.timeoutMs) ?? (transport === 'serial' ? 300 : 500);
  const hits = await scanBus(
    { bus: { transport, path: str(o.path), host: str(o.host), port: num('port', o.port) ?? 502 }, lines, unitIds, models, timeoutMs },
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
