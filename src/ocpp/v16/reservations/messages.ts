/** OCPP 1.6 Reservation profile messages (S16 §5.1, §5.13; schemas urn:ReserveNow.req/.conf, urn:CancelReservation.req/.conf). */

export interface ReserveNowReq {
  connectorId: number;
  /** date-time: when the reservation ends (the CSMS's time). */
  expiryDate: string;
  /** CiString20 */
  idTag: string;
  /** CiString20 */
  parentIdTag?: string;
  reservationId: number;
}
export interface ReserveNowConf {
  status: 'Accepted' | 'Faulted' | 'Occupied' | 'Rejected' | 'Unavailable';
}

export interface CancelReservationReq {
  reservationId: number;
}
export interface CancelReservationConf {
  status: 'Accepted' | 'Rejected';
}
