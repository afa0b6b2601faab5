// The live socket of the session, shared by the controller modules (null when signed out).
export const conn = { socket: null };
