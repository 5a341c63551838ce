import { AppError } from '../errors/app-error.js';
import type { GradePostInput } from './grades-service.js';

/**
 * Splits CSV text into rows (RFC 4180 quotes, CRLF or LF), dropping blank lines. Each row keeps
 * the line of the file it starts on (blank lines and line breaks inside quotes still count).
 */
function rows(text: string): Array<{ cells: string[]; line: number }> {
  const out: Array<{ cells: string[]; line: number }> = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  let line = 1;
  let start = 1;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else {
        if (ch === '\n' || (ch === '\r' && text[i + 1] !== '\n')) line++;
        cell += ch;
      }
    } else if (ch === '"' && cell === '') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      if (row.some((c) => c.trim() !== '')) out.push({ cells: row, line: start });
      row = [];
      cell = '';
      line++;
      start = line;
    } else cell += ch;
  }
  row.push(cell);
  if (row.some((c) => c.trim() !== '')) out.push({ cells: row, line: start });
  return out;
}

/**
 * Reads a scores file: `user_id,score[,comment]` per line, an optional header line starting
 * with `user_id`. A score that is not a number is kept as written: the post reports it as
 * `invalid_score` instead of refusing the whole file.
 * @throws AppError validation_failed naming the line of a row without a user id or a score column
 */
export function parseScoresCsv(text: string): GradePostInput['scores'] {
  const all = rows(text.replace(/^\uFEFF/, ''));
  const start = all[0]?.cells[0]?.trim().toLowerCase() === 'user_id' ? 1 : 0;
  const scores: GradePostInput['scores'] = [];
  for (let i = start; i < all.length; i++) {
    const { cells, line } = all[i]!;
    const [user = '', score, comment] = cells;
    if (user.trim() === '' || score === undefined) {
      throw new AppError('validation_failed', `line ${line}: expected user_id,score[,comment]`, { details: { field: 'file' } });
    }
    const n = score.trim() === '' ? null : Number(score.trim());
    scores.push({ userExternalId: user.trim(), score: n !== null && Number.isFinite(n) ? n : score.trim(), ...(comment?.trim() ? { comment: comment.trim() } : {}) });
  }
  if (scores.length === 0) throw new AppError('validation_failed', 'the file has no scores', { details: { field: 'file' } });
  return scores;
}
