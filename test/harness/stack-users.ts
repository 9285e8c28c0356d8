// users.xml for a server that is to carry the compose stack's deploy/clickhouse/users.xml in
// users.d, as the stack's server does: only the launch user and an admin of its own, so the deploy
// file's users are defined once.
import { ADMIN_USER, LAUNCH_USER, renderUsersXml, sha256Hex } from '../../services/shared/clickhouse/users.js';

export function adminOnlyUsersXml(adminPassword: string, database = 'telemetry'): string {
  return renderUsersXml([LAUNCH_USER, { name: ADMIN_USER, password: { sha256: sha256Hex(adminPassword) }, readonly: false, grants: [], comment: 'Admin of this test server.' }], database, 'Test server: the stack users come from users.d.');
}
