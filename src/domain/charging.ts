/** Power above which a session counts as charging rather than idle (W). Below it the EV only keeps its electronics awake. */
export const CHARGING_THRESHOLD_W = 100;
