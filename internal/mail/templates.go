package mail

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"strings"
	texttemplate "text/template"
	"time"
)

// Kind names one of the messages Gatehouse sends. Each kind has three templates:
// <kind>.subject.txt and <kind>.txt (text/template) and <kind>.html (html/template, defining
// "content", rendered inside layout.html's "layout").
type Kind string

// The messages.
const (
	VerifyEmail     Kind = "verify_email"     // Link, Code, Expires
	PasswordReset   Kind = "password_reset"   // Link, Expires
	PasswordChanged Kind = "password_changed" // notice, no link
	EmailChanged    Kind = "email_changed"    // to the old address: NewEmail, UndoLink, Expires
	LoginCode       Kind = "login_code"       // Code, optional Link, Expires
)

// Kinds lists every kind, for loading and checking the templates.
var Kinds = []Kind{VerifyEmail, PasswordReset, PasswordChanged, EmailChanged, LoginCode}

//go:embed templates
var embedded embed.FS

// Brand is how the deployment presents itself in its emails.
type Brand struct {
	Name    string // e.g. "Acme"; default "Gatehouse"
	LogoURL string // an https URL of the logo, or empty for the name in text
}

// Data is what a template can use. The caller fills the fields its kind needs; Brand and
// Subject are set by Render.
type Data struct {
	Brand    Brand
	Subject  string
	Email    string        // the recipient
	Link     string        // the verification, reset or sign-in link (holds a secret)
	Code     string        // the 6-digit code (a secret)
	Expires  time.Duration // validity of the link or code
	NewEmail string        // EmailChanged: the address the account is moving to
	UndoLink string        // EmailChanged: the link that undoes the change (holds a secret)
}

// ExpiresText is Expires in words ("30 minutes", "24 hours").
func (d Data) ExpiresText() string {
	switch e := d.Expires; {
	case e <= 0:
		return "a short time"
	case e%time.Hour == 0:
		return plural(int(e/time.Hour), "hour")
	case e%time.Minute == 0:
		return plural(int(e/time.Minute), "minute")
	default:
		return plural(int(e.Round(time.Second)/time.Second), "second")
	}
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

type kindTemplates struct {
	subject, text *texttemplate.Template
	html          *htmltemplate.Template
}

// Templates renders every kind of message.
type Templates struct {
	brand Brand
	kinds map[Kind]kindTemplates
}

// NewTemplates loads the embedded templates, replacing each file that exists in override (a
// directory from the config, as os.DirFS; nil for none) by its version there. Every template
// is rendered once with sample data, so a broken override stops the start, not a sign-up.
func NewTemplates(override fs.FS, brand Brand) (*Templates, error) {
	if brand.Name == "" {
		brand.Name = "Gatehouse"
	}
	if hasControl(brand.Name) {
		return nil, fmt.Errorf("mail: brand name: %w", ErrHeaderInjection)
	}
	read := func(name string) (string, error) {
		if override != nil {
			b, err := fs.ReadFile(override, name)
			if err == nil {
				return string(b), nil
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return "", fmt.Errorf("mail: template %s: %w", name, err)
			}
		}
		b, err := embedded.ReadFile("templates/" + name)
		return string(b), err
	}
	layout, err := read("layout.html")
	if err != nil {
		return nil, err
	}
	t := &Templates{brand: brand, kinds: map[Kind]kindTemplates{}}
	var errs []error
	for _, k := range Kinds {
		var kt kindTemplates
		src := map[string]string{}
		for _, suffix := range []string{".subject.txt", ".txt", ".html"} {
			if src[suffix], err = read(string(k) + suffix); err != nil {
				errs = append(errs, err)
			}
		}
		if kt.subject, err = texttemplate.New(string(k) + ".subject.txt").Option("missingkey=error").Parse(src[".subject.txt"]); err != nil {
			errs = append(errs, err)
		}
		if kt.text, err = texttemplate.New(string(k) + ".txt").Option("missingkey=error").Parse(src[".txt"]); err != nil {
			errs = append(errs, err)
		}
		h, err := htmltemplate.New("layout.html").Option("missingkey=error").Parse(layout)
		if err == nil {
			h, err = h.New(string(k) + ".html").Parse(src[".html"])
		}
		if err != nil {
			errs = append(errs, err)
		}
		kt.html = h
		t.kinds[k] = kt
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for _, k := range Kinds {
		if _, err := t.Render(k, SampleData(k)); err != nil {
			errs = append(errs, err)
		}
	}
	return t, errors.Join(errs...)
}

// SampleData returns plausible data for k, for checking templates.
func SampleData(k Kind) Data {
	d := Data{Email: "ada@example.com"}
	switch k {
	case VerifyEmail:
		d.Link, d.Code, d.Expires = "https://auth.example.com/verify?token=sample", "123456", 24*time.Hour
	case PasswordReset:
		d.Link, d.Expires = "https://auth.example.com/reset?token=sample", 30*time.Minute
	case EmailChanged:
		d.NewEmail, d.UndoLink, d.Expires = "new@example.com", "https://auth.example.com/undo?token=sample", 72*time.Hour
	case LoginCode:
		d.Code, d.Link, d.Expires = "654321", "https://auth.example.com/login?token=sample", 10*time.Minute
	}
	return d
}

// Rendered is a rendered message.
type Rendered struct {
	Subject, Text, HTML string
}

// Render renders kind k with d (Brand and Subject are filled in).
func (t *Templates) Render(k Kind, d Data) (Rendered, error) {
	kt, ok := t.kinds[k]
	if !ok {
		return Rendered{}, fmt.Errorf("mail: unknown message kind %q", k)
	}
	d.Brand = t.brand
	var b bytes.Buffer
	if err := kt.subject.Execute(&b, d); err != nil {
		return Rendered{}, fmt.Errorf("mail: %s subject: %w", k, err)
	}
	subject := strings.TrimSpace(b.String())
	if subject == "" || hasControl(subject) {
		return Rendered{}, fmt.Errorf("mail: %s subject must be one non-empty line: %w", k, ErrHeaderInjection)
	}
	d.Subject = subject
	b.Reset()
	if err := kt.text.Execute(&b, d); err != nil {
		return Rendered{}, fmt.Errorf("mail: %s text: %w", k, err)
	}
	text := b.String()
	b.Reset()
	if err := kt.html.ExecuteTemplate(&b, "layout", d); err != nil {
		return Rendered{}, fmt.Errorf("mail: %s html: %w", k, err)
	}
	return Rendered{Subject: subject, Text: text, HTML: b.String()}, nil
}
