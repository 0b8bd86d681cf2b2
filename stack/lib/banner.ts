/** The summary `npm start` prints: where things are, the keys, demo users and examples. */
import type { StackProfile } from './profile.ts'
import { apiUrl, dbUrl, type LocalSecrets } from './secrets.ts'

export const DEMO_USERS: Array<[handle: string, role: string, note: string]> = [
  ['siti_rahayu', 'PARTICIPANT', 'public profile, submissions in every status'],
  ['budi_santoso', 'PARTICIPANT', 'public profile'],
  ['dewi_lestari', 'PARTICIPANT', 'private profile (not on the leaderboard)'],
  ['agus_pratama', 'PARTICIPANT', 'SUSPENDED: reads return no rows, writes are refused'],
  ['rina_wulandari', 'REVIEWER', ''],
  ['wayan_sudarma', 'ADMIN', 'verified TOTP factor: use --aal aal2'],
  ['ketut_anggraini', 'SUPERADMIN', 'verified TOTP factor: use --aal aal2'],
]

export function printBanner(p: StackProfile, s: LocalSecrets): void {
  const api = apiUrl(p)
  const lines = [
    '',
    `         API URL: ${api}  (edge functions only: no Data API locally; use npm run psql)`,
    `   Functions URL: ${api}/functions/v1/<name>`,
    `          DB URL: ${dbUrl(p, 'postgres', s.postgresPassword)}`,
    `   Virus scanner: clamd on 127.0.0.1:${p.clamdPort} (test signature only: detects EICAR)`,
    `        anon key: ${s.anonKey}`,
    `service_role key: ${s.serviceRoleKey}`,
    '',
    'Demo users (fake people), by handle:',
    ...DEMO_USERS.map(([h, r, n]) => `  ${h.padEnd(16)} ${r.padEnd(12)} ${n}`),
    '',
    'Try it:',
    '  # a participant exports their own data',
    '  TOKEN=$(npm run --silent token -- siti_rahayu)',
    `  curl -s -X POST ${api}/functions/v1/dsar-export \\`,
    '    -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" -d \'{}\'',
    '',
    '  # the same participant asking for someone else\'s data gets 403',
    `  curl -s -X POST ${api}/functions/v1/dsar-export \\`,
    '    -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \\',
    '    -d \'{"subject":"00000000-0000-4000-8000-000000000002"}\'',
    '',
    '  # SQL exactly as the Data API would run it for a user (RLS applies)',
    "  npm run psql -- --as siti_rahayu -c 'select title, status from submissions'",
    "  npm run psql -- --as rina_wulandari -c 'select count(*) from submissions'",
    "  npm run psql -- --as wayan_sudarma -c 'select count(*) from users'   # aal1: 0",
    "  npm run psql -- --as wayan_sudarma --aal aal2 -c 'select handle, role from users'",
    "  npm run psql -- --as anon -c 'select * from leaderboard_totals'   # permission denied",
    '',
  ]
  process.stdout.write(lines.join('\n') + '\n')
}
