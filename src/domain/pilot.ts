/** IEC 61851-1 pilot states as seen at the EVSE's CP sense circuit. */
export type PilotState = 'A' | 'B' | 'C' | 'D' | 'E' | 'F';

export interface PilotReading {
  state: PilotState;
  /** false when the negative half of the PWM does not reach about -12 V (missing/shorted EV diode). */
  diodeOk: boolean;
  /**
   * Freshness of `diodeOk`: true only while PWM runs (`pwm` or `digital`), the EV is in B/C/D and
   * `diodeOk` is a verdict measured since the last change of the output mode (the negative half
   * exists only with PWM, and the sense needs a moment after the output changes). False in X1/F,
   * in A/E/F, and from every output mode change until the next measured verdict. The contactor
   * may close only on a checked, good diode. Drivers report a change of this flag like any other
   * change of the reading (onChange).
   */
  diodeChecked: boolean;
}
