/**
 * The architecture rules of src/, as data: the boundary test, the CLI and docs/architecture.md all
 * read them from here. A module is a top-level folder of src/ (`hal`, `ocpp`, ...) or a top-level
 * file named without `.ts` (`log`, `daemon`).
 */
export interface ArchitectureRules {
  /** Lowest first. A file may import files of its own module, of a lower layer, or of a sibling module its layer allows. */
  layers: readonly { name: string; modules: readonly string[] }[];
  /** `[from, to]`: the module `from` may import the module `to` of the same layer. Every other pair of one layer is forbidden. */
  siblings: readonly (readonly [string, string])[];
  /** From `module`, files of other modules (except `exempt`) may import only `file`, and only type-only. */
  port: { module: string; file: string; exempt: readonly string[] };
}

export const RULES: ArchitectureRules = {
  layers: [
    { name: 'ground', modules: ['config', 'log', 'domain', 'util'] },
    { name: 'hardware', modules: ['hal', 'sim'] },
    { name: 'store and system', modules: ['store', 'maintenance'] },
    { name: 'meter', modules: ['meter'] },
    { name: 'core', modules: ['evse'] },
    { name: 'protocols', modules: ['ocpp', 'billing', 'energy', 'panel'] },
    { name: 'edges', modules: ['api', 'telemetry'] },
    { name: 'composition', modules: ['daemon', 'cli'] },
  ],
  siblings: [
    // domain is the innermost ground (pure types and tables): the other ground modules may use it
    ['config', 'domain'],
    ['util', 'domain'],
    ['log', 'domain'],
    ['config', 'util'],
    // sim is the simulated hardware behind the HAL: the HAL factory builds it, it implements HAL types
    ['hal', 'sim'],
    ['sim', 'hal'],
    // `evsed run` starts the composition root
    ['cli', 'daemon'],
  ],
  port: { module: 'evse', file: 'src/evse/port.ts', exempt: ['daemon'] },
};
