package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	_ "modernc.org/sqlite" // pure-Go SQLite: no cgo

	"github.com/saml2sp/saml2sp"
)

// Store keeps accounts and their SSO links in SQLite. It implements
// saml2sp.UserStore. Sessions live in an encrypted cookie (the session
// layer's CookieStore), so there is no sessions table.
type Store struct {
	db *sql.DB
}

const schema = `
CREATE TABLE IF NOT EXISTS accounts (
	id           TEXT PRIMARY KEY,
	username     TEXT NOT NULL UNIQUE,
	email        TEXT NOT NULL,
	role         TEXT NOT NULL,
	display_name TEXT NOT NULL DEFAULT '',
	first_name   TEXT NOT NULL DEFAULT '',
	last_name    TEXT NOT NULL DEFAULT '',
	groups_json  TEXT NOT NULL DEFAULT '[]',
	created_at   INTEGER NOT NULL,
	last_login   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS accounts_email ON accounts (lower(email));
CREATE TABLE IF NOT EXISTS sso_links (
	idp        TEXT NOT NULL,
	user_id    TEXT NOT NULL,
	account_id TEXT NOT NULL REFERENCES accounts (id),
	PRIMARY KEY (idp, user_id)
);
`

// OpenStore opens (creating if needed) the database file at path.
func OpenStore(path string) (*Store, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1) // SQLite writes serialize anyway; this avoids SQLITE_BUSY
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("creating schema in %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

const accountColumns = "id, username, email, role"

func scanUser(row *sql.Row) (*saml2sp.User, error) {
	var u saml2sp.User
	err := row.Scan(&u.ID, &u.Username, &u.Email, &u.Role)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return &u, err
}

// FindByLink implements saml2sp.UserStore.
func (s *Store) FindByLink(ctx context.Context, idp, userID string) (*saml2sp.User, error) {
	return scanUser(s.db.QueryRowContext(ctx,
		`SELECT a.id, a.username, a.email, a.role FROM accounts a JOIN sso_links l ON l.account_id = a.id
		 WHERE l.idp = ? AND l.user_id = ?`, idp, userID))
}

// FindByEmail implements saml2sp.UserStore.
func (s *Store) FindByEmail(ctx context.Context, email string) (*saml2sp.User, error) {
	return scanUser(s.db.QueryRowContext(ctx,
		`SELECT `+accountColumns+` FROM accounts WHERE lower(email) = lower(?) ORDER BY created_at LIMIT 1`, email))
}

// Create implements saml2sp.UserStore: the account and its link are
// written in one transaction.
func (s *Store) Create(ctx context.Context, id *saml2sp.Identity, username, role string) (*saml2sp.User, error) {
	groups, _ := json.Marshal(id.Groups)
	u := &saml2sp.User{ID: newID(), Username: username, Email: id.Email, Role: role}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	now := time.Now().Unix()
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO accounts (id, username, email, role, display_name, first_name, last_name, groups_json, created_at, last_login)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, username, id.Email, role, id.DisplayName, id.FirstName, id.LastName, string(groups), now, now); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO sso_links (idp, user_id, account_id) VALUES (?, ?, ?)`, id.IdP, id.UserID, u.ID); err != nil {
		return nil, err
	}
	return u, tx.Commit()
}

// Link implements saml2sp.UserStore.
func (s *Store) Link(ctx context.Context, user *saml2sp.User, idp, userID string) error {
	if _, err := s.db.ExecContext(ctx,
		`INSERT INTO sso_links (idp, user_id, account_id) VALUES (?, ?, ?) ON CONFLICT (idp, user_id) DO NOTHING`,
		idp, userID, user.ID); err != nil {
		return err
	}
	var owner string
	if err := s.db.QueryRowContext(ctx, `SELECT account_id FROM sso_links WHERE idp = ? AND user_id = ?`, idp, userID).Scan(&owner); err != nil {
		return err
	}
	if owner != user.ID {
		return fmt.Errorf("SSO identity %s at %s is already linked to another account", userID, idp)
	}
	return nil
}

// UsernameTaken implements saml2sp.UserStore; a few names are reserved.
func (s *Store) UsernameTaken(ctx context.Context, username string) (bool, error) {
	switch username {
	case "admin", "root", "system", "saml":
		return true, nil
	}
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM accounts WHERE username = ?`, username).Scan(&n)
	return n > 0, err
}

// UpdateProfile implements saml2sp.UserStore and records the login time.
func (s *Store) UpdateProfile(ctx context.Context, user *saml2sp.User, id *saml2sp.Identity) error {
	groups, _ := json.Marshal(id.Groups)
	_, err := s.db.ExecContext(ctx,
		`UPDATE accounts SET email = ?, display_name = ?, first_name = ?, last_name = ?, groups_json = ?, last_login = ? WHERE id = ?`,
		id.Email, id.DisplayName, id.FirstName, id.LastName, string(groups), time.Now().Unix(), user.ID)
	return err
}

// Profile is an account as the profile page shows it.
type Profile struct {
	saml2sp.User // the account's ID, username, email and role
	// DisplayName, FirstName and LastName are the names the IdP sent at
	// the last login.
	DisplayName, FirstName, LastName string
	Groups                           []string // the groups sent at the last login
	Links                            []string // "idp → user ID"
}

// Profile loads an account with its links.
func (s *Store) Profile(ctx context.Context, accountID string) (*Profile, error) {
	var p Profile
	var groups string
	err := s.db.QueryRowContext(ctx,
		`SELECT id, username, email, role, display_name, first_name, last_name, groups_json FROM accounts WHERE id = ?`, accountID).
		Scan(&p.ID, &p.Username, &p.Email, &p.Role, &p.DisplayName, &p.FirstName, &p.LastName, &groups)
	if err != nil {
		return nil, err
	}
	_ = json.Unmarshal([]byte(groups), &p.Groups)
	rows, err := s.db.QueryContext(ctx, `SELECT idp, user_id FROM sso_links WHERE account_id = ? ORDER BY idp`, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var idp, uid string
		if err := rows.Scan(&idp, &uid); err != nil {
			return nil, err
		}
		p.Links = append(p.Links, idp+" → "+uid)
	}
	return &p, rows.Err()
}
