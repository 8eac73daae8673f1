/** Power above which a session counts as charging rather than idle (W). Below it the EV only keeps its electronics awake. */
export const CHARGING_THRESHOLD_W = 100;

/** The largest session energy target accepted (Wh), from config, the API and MQTT alike. */
export const MAX_ENERGY_TARGET_WH = 1_000_000;
