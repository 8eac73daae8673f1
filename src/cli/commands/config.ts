import { ConfigError, EXIT_CONFIG } from '../../config/errors.js';
import { loadConfig } from '../../config/load.js';
import { pilotOpenBudget } from '../../config/gpio.js';
import { configWarnings } from '../../config/warnings.js';

/**
 * evsed config check FILE: exit 0 when valid (risky settings as warnings on stderr: the ones run
 * logs, configWarnings), 78 (EX_CONFIG) with one line per problem, each with its line, when not.
 */
export async function configCommand(file: string): Promise<number> {
  try {
    const { config } = loadConfig(file);
    const c = config.connectors;
    for (const w of configWarnings(config, file)) console.error(`warning: ${w}`);
    console.log(`${file}: valid (station ${config.station.id}, ${c.length} connector${c.length === 1 ? '' : 's'}, auth ${config.auth.mode}${config.ocpp ? ', OCPP' : ''}${config.mqtt ? ', MQTT' : ''})`);
    for (const { id, hardware: hw } of c) {
      if (hw.driver !== 'gpio') continue;
      const b = pilotOpenBudget(hw);
      console.log(`connector ${id}: pilot leaving C to contactor coil released, worst case ${b.worstMs} ms of 100 (${b.paths.map((p) => `${p.name} ${p.ms}`).join(', ')})`);
      if (hw.benchWithoutMains) console.log(`connector ${id}: WARNING hardware.benchWithoutMains: no interlock/feedback required; never connect mains`);
    }
    return 0;
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return EXIT_CONFIG;
    }
    throw err;
  }
}
