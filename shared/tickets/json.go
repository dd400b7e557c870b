package tickets

import (
	"io"
	"strconv"
	"time"
	"unicode/utf8"
)

// Formats of the NDJSON a BigQuery load job reads: DATETIME as civil time,
// TIMESTAMP as RFC 3339 in UTC, both to the microsecond (BigQuery's precision).
const (
	DatetimeLayout  = "2006-01-02T15:04:05.000000"
	TimestampLayout = "2006-01-02T15:04:05.000000Z"
)

// AppendJSON appends r as one JSON object (no trailing newline) with the
// tickets-table column names as keys; NULL columns are written as null. It
// allocates nothing beyond growing dst.
func (r *Row) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"numero_ticket":`...)
	dst = strconv.AppendInt(dst, r.NumeroTicket, 10)
	dst = appendNullString(dst, `,"titulo":`, r.Titulo)
	dst = appendNullString(dst, `,"situacao":`, NullString{String: r.Situacao, Valid: r.Situacao != ""})
	dst = appendNullString(dst, `,"status":`, r.Status)
	dst = appendNullInt(dst, `,"status_id":`, r.StatusID)
	dst = appendNullString(dst, `,"estagio":`, r.Estagio)
	dst = appendNullString(dst, `,"prioridade":`, r.Prioridade)
	dst = appendNullString(dst, `,"cliente":`, r.Cliente)
	dst = appendNullInt(dst, `,"cliente_id":`, r.ClienteID)
	dst = appendNullString(dst, `,"mesa":`, r.Mesa)
	dst = appendNullString(dst, `,"responsavel":`, r.Responsavel)
	dst = appendNullString(dst, `,"solicitante":`, r.Solicitante)
	dst = appendNullString(dst, `,"solicitante_email":`, r.SolicitanteEmail)
	dst = appendNullString(dst, `,"canal":`, r.Canal)
	dst = appendNullBool(dst, `,"fechado":`, r.Fechado)
	dst = appendNullInt(dst, `,"reaberturas":`, r.Reaberturas)
	dst = appendNullBool(dst, `,"resolvido_no_prazo":`, r.ResolvidoNoPrazo)
	dst = appendTime(dst, `,"criado_em":`, r.CriadoEm, DatetimeLayout)
	dst = appendTime(dst, `,"atualizado_em":`, r.AtualizadoEm, DatetimeLayout)
	dst = appendTime(dst, `,"prazo_atendimento":`, r.PrazoAtendimento, DatetimeLayout)
	dst = appendTime(dst, `,"prazo_solucao":`, r.PrazoSolucao, DatetimeLayout)
	dst = appendTime(dst, `,"criado_em_utc":`, r.CriadoEmUTC.UTC(), TimestampLayout)
	dst = appendTime(dst, `,"atualizado_em_utc":`, r.AtualizadoEmUTC.UTC(), TimestampLayout)
	dst = appendTime(dst, `,"sincronizado_em":`, r.SincronizadoEm.UTC(), TimestampLayout)
	dst = append(dst, `,"sessao":`...)
	dst = appendString(dst, r.Sessao)
	return append(dst, '}')
}

// Encoder writes rows as newline-delimited JSON, buffering up to about 64 KiB
// between writes so that a pipe sees few, large writes.
type Encoder struct {
	w   io.Writer
	buf []byte
	n   int
}

const encoderFlushAt = 64 << 10

// NewEncoder returns an Encoder writing to w.
func NewEncoder(w io.Writer) *Encoder {
	return &Encoder{w: w, buf: make([]byte, 0, encoderFlushAt+4<<10)}
}

// Encode buffers r as one line, writing the buffer out once it is full. The
// error is the underlying writer's.
func (e *Encoder) Encode(r *Row) error {
	e.buf = r.AppendJSON(e.buf)
	e.buf = append(e.buf, '\n')
	e.n++
	if len(e.buf) >= encoderFlushAt {
		return e.Flush()
	}
	return nil
}

// Rows is the number of rows encoded so far.
func (e *Encoder) Rows() int { return e.n }

// Flush writes out whatever is buffered.
func (e *Encoder) Flush() error {
	if len(e.buf) == 0 {
		return nil
	}
	_, err := e.w.Write(e.buf)
	e.buf = e.buf[:0]
	return err
}

func appendNullString(dst []byte, key string, v NullString) []byte {
	dst = append(dst, key...)
	if !v.Valid {
		return append(dst, "null"...)
	}
	return appendString(dst, v.String)
}

func appendNullInt(dst []byte, key string, v NullInt64) []byte {
	dst = append(dst, key...)
	if !v.Valid {
		return append(dst, "null"...)
	}
	return strconv.AppendInt(dst, v.Int64, 10)
}

func appendNullBool(dst []byte, key string, v NullBool) []byte {
	dst = append(dst, key...)
	if !v.Valid {
		return append(dst, "null"...)
	}
	return strconv.AppendBool(dst, v.Bool)
}

func appendTime(dst []byte, key string, t time.Time, layout string) []byte {
	dst = append(dst, key...)
	if t.IsZero() {
		return append(dst, "null"...)
	}
	dst = append(dst, '"')
	dst = appendCivil(dst, t)
	if layout == TimestampLayout {
		dst = append(dst, 'Z')
	}
	return append(dst, '"')
}

// appendCivil appends t's wall clock in its own location as DatetimeLayout
// does; it is time.AppendFormat for the one layout we need, a few times faster.
func appendCivil(dst []byte, t time.Time) []byte {
	year, month, day := t.Date()
	hour, minute, sec := t.Clock()
	dst = appendDigits(dst, year, 4)
	dst = append(dst, '-')
	dst = appendDigits(dst, int(month), 2)
	dst = append(dst, '-')
	dst = appendDigits(dst, day, 2)
	dst = append(dst, 'T')
	dst = appendDigits(dst, hour, 2)
	dst = append(dst, ':')
	dst = appendDigits(dst, minute, 2)
	dst = append(dst, ':')
	dst = appendDigits(dst, sec, 2)
	dst = append(dst, '.')
	return appendDigits(dst, t.Nanosecond()/1000, 6)
}

// appendDigits appends v (0 <= v < 10^width) zero-padded to width digits.
func appendDigits(dst []byte, v, width int) []byte {
	var b [8]byte
	for i := width - 1; i >= 0; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return append(dst, b[:width]...)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string the way encoding/json does, minus
// HTML escaping: invalid UTF-8 becomes U+FFFD, control characters and the
// JavaScript line separators are escaped.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xf])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
