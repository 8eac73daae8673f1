/** What the sign-in page says above the form. */
export type SignInNotice = { kind: 'failed' } | { kind: 'throttled'; waitS: number } | { kind: 'signed-out' } | null;

const NOTICES = {
  failed: 'Sign-in failed. Check the password and try again.',
  'signed-out': 'You are signed out.',
} as const;

/**
 * The sign-in page: a plain HTML form posting to /api/session, so it works without the station
 * page's script. It names nothing of the station (it is served to anyone who can reach it).
 */
export function signInPage(notice: SignInNotice): string {
  let text = '';
  let role = 'status';
  if (notice?.kind === 'throttled') {
    text = `Too many failed attempts. Try again in ${notice.waitS} s.`;
    role = 'alert';
  } else if (notice) {
    text = NOTICES[notice.kind];
    if (notice.kind === 'failed') role = 'alert';
  }
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Sign in · evsed</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/signin.css">
</head>
<body>
<main>
<h1>Sign in</h1>
<p>This charging station's page needs its password (set with <code>evsed passwd</code>).</p>
${text ? `<p id="signin-message" class="${role === 'alert' ? 'error' : 'note'}" role="${role}">${text}</p>\n` : ''}<form id="signin" method="post" action="/api/session">
<input type="text" name="username" value="admin" autocomplete="username" hidden>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required autofocus${notice?.kind === 'failed' ? ' aria-invalid="true" aria-describedby="signin-message"' : ''}>
<button type="submit">Sign in</button>
</form>
</main>
</body>
</html>
`;
}

export const SIGN_IN_CSS = `body { font: 16px/1.4 system-ui, sans-serif; margin: 0; background: Canvas; color: CanvasText; }
main { max-width: 22rem; margin: 10vh auto; padding: 1.5rem; }
h1 { font-size: 1.5rem; margin: 0 0 .5rem; }
form { display: grid; gap: .5rem; margin-top: 1rem; }
input, button { font: inherit; padding: .5rem; }
button { cursor: pointer; }
.error { color: #b00020; font-weight: 600; }
.note { font-weight: 600; }
@media (prefers-color-scheme: dark) { .error { color: #ff8a80; } }
`;

/** Only this origin; the form posts to this station and nowhere else. */
export const SIGN_IN_CSP = "default-src 'none'; style-src 'self'; img-src data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
