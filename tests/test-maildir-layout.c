/* test-maildir-layout.c: tests for src/maildir/maildir-layout.c
 *
 * Folder names come from servers, so besides the named cases a sweep of
 * random hostile names checks that no accepted name maps outside the
 * root, into a Maildir's own directories, or onto another folder's path.
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/errors.h"
#include "core/paths.h"
#include "maildir/maildir-layout.h"

#define SWEEP_NAMES   20000
#define SWEEP_CREATED 300

/* Warnings ------------------------------------------------------------------- */

static GPtrArray *warnings;

/* Collects warnings for the tests to check; everything else goes out as usual. */
static GLogWriterOutput
log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer data)
{
  if (level & G_LOG_LEVEL_WARNING)
    for (gsize i = 0; i < n_fields; i++)
      if (g_str_equal (fields[i].key, "MESSAGE"))
        {
          g_ptr_array_add (warnings, g_strdup (fields[i].value));
          return G_LOG_WRITER_HANDLED;
        }
  return g_log_writer_default (level, fields, n_fields, data);
}

/* Asserts that exactly the warnings containing each of @needles (NULL
 * ended) were given since the last call, in any order. */
static void
assert_warnings (const char *const *needles)
{
  guint n = 0;

  for (; needles[n] != NULL; n++)
    {
      gboolean found = FALSE;

      for (guint i = 0; i < warnings->len && !found; i++)
        found = strstr (g_ptr_array_index (warnings, i), needles[n]) != NULL;
      if (!found)
        g_error ("no warning mentions “%s”", needles[n]);
    }
  for (guint i = 0; i < warnings->len; i++)
    g_test_message ("warning: %s", (char *) g_ptr_array_index (warnings, i));
  g_assert_cmpuint (warnings->len, ==, n);
  g_ptr_array_set_size (warnings, 0);
}

/* Fixture --------------------------------------------------------------------- */

typedef struct
{
  char *dir;
  char *root;    /* dir/Mail, not yet made */
  char *outside; /* dir/outside, a directory beside the root */
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("ferry-test-maildir-layout-XXXXXX", NULL);
  f->root = g_build_filename (f->dir, "Mail", NULL);
  f->outside = g_build_filename (f->dir, "outside", NULL);
  g_assert_cmpint (g_mkdir (f->outside, 0700), ==, 0);
  g_ptr_array_set_size (warnings, 0);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_assert_cmpuint (warnings->len, ==, 0);
  ferry_paths_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->root);
  g_free (f->outside);
}

static FerryMaildirLayout *
new_layout (Fixture *f, FerrySubfolders style, const char *inbox)
{
  g_autoptr (GError) error = NULL;
  FerryMaildirLayout *layout = ferry_maildir_layout_new (f->root, style, inbox, &error);

  g_assert_no_error (error);
  return layout;
}

/* path_for(@name) relative to the root: "" for the root itself. */
static char *
relative_path (FerryMaildirLayout *layout, const char *name)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = ferry_maildir_layout_path_for (layout, name, &error);
  const char *root = ferry_maildir_layout_get_root (layout);

  g_assert_no_error (error);
  if (g_str_equal (path, root))
    return g_strdup ("");
  g_assert_true (g_str_has_prefix (path, root) && path[strlen (root)] == '/');
  return g_strdup (path + strlen (root) + 1);
}

static void
assert_maps (FerryMaildirLayout *layout, const char *name, const char *expected)
{
  g_autofree char *relative = relative_path (layout, name);

  if (!g_str_equal (relative, expected))
    g_error ("“%s” maps to “%s”, not “%s”", name, relative, expected);
}

static void
assert_refused (FerryMaildirLayout *layout, const char *name, const char *needle)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = ferry_maildir_layout_path_for (layout, name, &error);

  if (path != NULL)
    g_error ("“%s” was accepted as %s", name, path);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_DATA);
  if (strstr (error->message, needle) == NULL)
    g_error ("expected “%s” in “%s”", needle, error->message);
  /* never a raw control character or invalid UTF-8 in a message */
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
  for (const char *c = error->message; *c != '\0'; c++)
    g_assert_true ((guchar) *c >= 0x20 && *c != 0x7f);
}

static char *
join_names (GPtrArray *names)
{
  g_autoptr (GString) out = g_string_new (NULL);

  for (guint i = 0; i < names->len; i++)
    g_string_append_printf (out, "%s%s", i > 0 ? "|" : "", (char *) g_ptr_array_index (names, i));
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static char *
list_names (FerryMaildirLayout *layout)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) names = ferry_maildir_layout_list (layout, &error);

  g_assert_no_error (error);
  return join_names (names);
}

static void
create (FerryMaildirLayout *layout, const char *name)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (ferry_maildir_layout_create_folder (layout, name, &error));
  g_assert_no_error (error);
}

static gboolean
is_dir (const char *root, const char *relative)
{
  g_autofree char *path = g_build_filename (root, relative, NULL);
  return g_file_test (path, G_FILE_TEST_IS_DIR);
}

static guint
mode_of (const char *root, const char *relative)
{
  g_autofree char *path = g_build_filename (root, relative, NULL);
  GStatBuf st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  return st.st_mode & 0777;
}

/* Makes a Maildir by hand, as another tool would, at @relative. */
static void
make_maildir (const char *root, const char *relative)
{
  static const char *const subdirs[] = { "cur", "new", "tmp" };

  for (guint i = 0; i < G_N_ELEMENTS (subdirs); i++)
    {
      g_autofree char *path = g_build_filename (root, relative, subdirs[i], NULL);
      g_assert_cmpint (g_mkdir_with_parents (path, 0700), ==, 0);
    }
}

static void
put_file (const char *root, const char *relative, const char *contents)
{
  g_autofree char *path = g_build_filename (root, relative, NULL);
  g_assert_true (g_file_set_contents (path, contents, -1, NULL));
}

static void
make_link (const char *target, const char *root, const char *relative)
{
  g_autofree char *path = g_build_filename (root, relative, NULL);
  g_assert_cmpint (symlink (target, path), ==, 0);
}

/* Construction ----------------------------------------------------------------- */

static void
test_new (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (FerryMaildirLayout) layout = NULL;
  g_autofree char *messy = g_strconcat (f->dir, "//./Mail/", NULL);
  g_autofree char *inbox = g_build_filename (f->root, "INBOX", NULL);
  g_autofree char *local = g_build_filename (f->root, "Local", "in", NULL);

  layout = ferry_maildir_layout_new (messy, FERRY_SUBFOLDERS_VERBATIM, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (ferry_maildir_layout_get_root (layout), ==, f->root);
  g_assert_cmpstr (ferry_maildir_layout_get_inbox_path (layout), ==, inbox);
  g_clear_pointer (&layout, ferry_maildir_layout_free);

  /* an INBOX path relative to the root, or absolute */
  layout = new_layout (f, FERRY_SUBFOLDERS_VERBATIM, "Local/in");
  g_assert_cmpstr (ferry_maildir_layout_get_inbox_path (layout), ==, local);
  g_clear_pointer (&layout, ferry_maildir_layout_free);
  layout = new_layout (f, FERRY_SUBFOLDERS_VERBATIM, f->outside);
  g_assert_cmpstr (ferry_maildir_layout_get_inbox_path (layout), ==, f->outside);
  g_clear_pointer (&layout, ferry_maildir_layout_free);

  layout = new_layout (f, FERRY_SUBFOLDERS_MAILDIRPP, NULL);
  g_assert_cmpstr (ferry_maildir_layout_get_inbox_path (layout), ==, f->root);
  g_clear_pointer (&layout, ferry_maildir_layout_free);
  layout = new_layout (f, FERRY_SUBFOLDERS_MAILDIRPP, f->root);
  g_clear_pointer (&layout, ferry_maildir_layout_free);

  layout = ferry_maildir_layout_new (f->root, FERRY_SUBFOLDERS_MAILDIRPP, f->outside, &error);
  g_assert_null (layout);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG);
  g_clear_error (&error);

  layout = ferry_maildir_layout_new ("", FERRY_SUBFOLDERS_VERBATIM, NULL, &error);
  g_assert_null (layout);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_CONFIG);
}

static void
test_is_inbox (void)
{
  g_assert_true (ferry_maildir_layout_is_inbox ("INBOX"));
  g_assert_true (ferry_maildir_layout_is_inbox ("inbox"));
  g_assert_true (ferry_maildir_layout_is_inbox ("InBoX"));
  g_assert_false (ferry_maildir_layout_is_inbox ("INBOX/Sub"));
  g_assert_false (ferry_maildir_layout_is_inbox ("INBOX2"));
}

/* Mapping names ------------------------------------------------------------------ */

static void
test_path_for_verbatim (Fixture *f, gconstpointer data)
{
  g_autoptr (FerryMaildirLayout) layout = new_layout (f, FERRY_SUBFOLDERS_VERBATIM, NULL);

  assert_maps (layout, "INBOX", "INBOX");
  assert_maps (layout, "inbox", "INBOX");
  assert_maps (layout, "INBOX/Sub", "INBOX/Sub");
  assert_maps (layout, "Inbox/Sub", "INBOX/Sub");
  assert_maps (layout, "Archive", "Archive");
  assert_maps (layout, "Archive/2024", "Archive/2024");
  assert_maps (layout, "Archive/2024/Q1", "Archive/2024/Q1");
  assert_maps (layout, "Entwürfe", "Entwürfe");
  assert_maps (layout, "日本語/下書き", "日本語/下書き");
  assert_maps (layout, "back\\slash", "back\\slash");
  assert_maps (layout, "Sent Items", "Sent Items");
  assert_maps (layout, "a.b", "a.b");
  assert_maps (layout, "x:y!z", "x:y!z");
  assert_maps (layout, "Junk/curious", "Junk/curious");
}

static void
test_path_for_maildirpp (Fixture *f, gconstpointer data)
{
  g_autoptr (FerryMaildirLayout) layout = new_layout (f, FERRY_SUBFOLDERS_MAILDIRPP, NULL);

  assert_maps (layout, "INBOX", "");
  assert_maps (layout, "Inbox", "");
  assert_maps (layout, "INBOX/Sub", ".INBOX.Sub");
  assert_maps (layout, "inbox/Sub", ".INBOX.Sub");
  assert_maps (layout, "Archive", ".Archive");
  assert_maps (layout, "Archive/2024", ".Archive.2024");
  assert_maps (layout, "Entwürfe", ".Entwürfe");
  assert_maps (layout, "日本語/下書き", ".日本語.下書き");
  /* no cur/new/tmp clash: every Maildir++ folder starts with "." */
  assert_maps (layout, "cur", ".cur");
  assert_maps (layout, "tmp/new", ".tmp.new");
  assert_maps (layout, "back\\slash", ".back\\slash");
}

static void
test_path_for_inbox_placements (Fixture *f, gconstpointer data)
{
  g_autoptr (FerryMaildirLayout) at_root = new_layout (f, FERRY_SUBFOLDERS_VERBATIM, f->root);
  g_autoptr (FerryMaildirLayout) local = new_layout (f, FERRY_SUBFOLDERS_VERBATIM, "Local");
  g_autoptr (FerryMaildirLayout) outside = new_layout (f, FERRY_SUBFOLDERS_VERBATIM, f->outside);
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;

  /* INBOX is the root: its cur/ new/ tmp/ are at the top */
  assert_maps (at_root, "INBOX", "");
  assert_maps (at_root, "INBOX/Sub", "INBOX/Sub");
  assert_refused (at_root, "cur", "cur, new or tmp");
  assert_refused (at_root, "new", "cur, new or tmp");
  assert_refused (at_root, "tmp", "cur, new or tmp");

  /* no other folder may take the INBOX's place */
  assert_maps (local, "INBOX", "Local");
  assert_refused (local, "Local", "where the INBOX is kept");
  assert_maps (local, "Local/Sub", "Local/Sub");

  path = ferry_maildir_layout_path_for (outside, "inbox", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (path, ==, f->outside);
  assert_maps (outside, "INBOX/Sub", "INBOX/Sub");
}

static void
test_path_for_refusals (Fixture *f, gconstpointer data)
{
  g_autoptr (FerryMaildirLayout) verbatim = new_layout (f, FERRY_SUBFOLDERS_VERBATIM, NULL);
  g_autoptr (FerryMaildirLayout) maildirpp = new_layout (f, FERRY_SUBFOLDERS_MAILDIRPP, NULL);
  FerryMaildirLayout *both[] = { verbatim, maildirpp };
  g_autofree char *long_level = g_strnfill (256, 'x');
  g_autofree char *long_first = g_strnfill (200, 'a');
  g_autofree char *long_second = g_strnfill (60, 'b');
  g_autofree char *long_pp = g_strjoin ("/", long_first, long_second, NULL);
  g_autofree char *fits = g_strnfill (255, 'x');

  for (guint i = 0; i < G_N_ELEMENTS (both); i++)
    {
      FerryMaildirLayout *layout = both[i];

      assert_refused (layout, "", "“”");
      assert_refused (layout, "", "empty");
      assert_refused (layout, "a//b", "“a//b”");
      assert_refused (layout, "a//b", "empty level");
      assert_refused (layout, "/a", "empty level");
      assert_refused (layout, "a/", "empty level");
      assert_refused (layout, "/", "empty level");
      assert_refused (layout, ".", "“.” or “..”");
      assert_refused (layout, "..", "“.” or “..”");
      assert_refused (layout, "../x", "“.” or “..”");
      assert_refused (layout, "a/../../b", "“.” or “..”");
      assert_refused (layout, "a/./b", "“.” or “..”");
      assert_refused (layout, "INBOX/..", "“.” or “..”");
      assert_refused (layout,
                      "a\x01"
                      "b",
                      "control character");
      assert_refused (layout,
                      "a\x01"
                      "b",
                      "a\\x01b");
      assert_refused (layout, "new\nline", "new\\x0aline");
      assert_refused (layout, "tab\there", "control character");
      assert_refused (layout, "del\x7f", "control character");
      assert_refused (layout, "\xff\xfe", "not valid UTF-8");
      assert_refused (layout, "\xff\xfe", "\\xff\\xfe");
      assert_refused (layout,
                      "over\xc0\xae"
                      "long",
                      "not valid UTF-8");
      assert_refused (layout,
                      "Entw\xfc"
                      "rfe",
                      "not valid UTF-8");
      assert_refused (layout, long_level, "longer than a file name");
    }

  /* verbatim: hidden levels and Maildir structure */
  assert_refused (verbatim, ".hidden", "starting with “.”");
  assert_refused (verbatim, "a/.b", "starting with “.”");
  assert_refused (verbatim, ".Archive.2024", "starting with “.”");
  assert_refused (verbatim, "...", "starting with “.”");
  assert_refused (verbatim, "..x", "starting with “.”");
  assert_refused (verbatim, "cur", "cur, new or tmp");
  assert_refused (verbatim, "Archive/new", "cur, new or tmp");
  assert_refused (verbatim, "tmp/x", "cur, new or tmp");
  assert_refused (verbatim, "INBOX/cur", "cur, new or tmp");
  assert_maps (verbatim, fits, fits);

  /* Maildir++: "." is the level separator */
  assert_refused (maildirpp, "a.b", "Maildir++ separates levels with “.”");
  assert_refused (maildirpp, "Archive/2024.01", "change the folder hierarchy");
  assert_refused (maildirpp, ".hidden", "Maildir++ separates levels");
  assert_refused (maildirpp, "INBOX.Sub", "Maildir++ separates levels");
  assert_refused (maildirpp, long_pp, "longer than a file name");
}

/* The sweep ----------------------------------------------------------------------- */

static const char *const pieces[] = {
  "..",
  ".",
  "/",
  "//",
  "\\",
  "cur",
  "new",
  "tmp",
  "INBOX",
  "inbox",
  "Inbox",
  "\x01",
  "\x1f",
  "\x7f",
  "\n",
  "\xff",
  "\xc0\xae",
  "\xe2\x80\xae",
  "\xed\xa0\x80",
  "ü",
  "日本",
  "a",
  "B",
  "0",
  " ",
  ":",
  "!",
  ",",
  "~",
  "*",
  "%",
  "%2e%2e",
  "$HOME",
  "`id`",
  ".a",
  "a.",
  "-",
  "\t",
  "\xc2\x85",
};

static char *
random_name (GRand *rand)
{
  GString *name = g_string_new (NULL);
  guint n = (guint) g_rand_int_range (rand, 1, 9);

  for (guint i = 0; i < n; i++)
    g_string_append (name, pieces[g_rand_int_range (rand, 0, G_N_ELEMENTS (pieces))]);
  return g_string_free (name, FALSE);
}

/* An accepted path is the INBOX's, or lexically below the root with no
 * level that means something to the file system or to Maildir. */
static void
check_accepted (FerryMaildirLayout *layout, gboolean maildirpp, const char *name, const char *path)
{
  const char *root = ferry_maildir_layout_get_root (layout);
  g_autofree char *canonical = g_canonicalize_filename (path, "/nonexistent");
  g_auto (GStrv) levels = NULL;
  const char *relative;

  g_assert_cmpstr (canonical, ==, path);
  if (ferry_maildir_layout_is_inbox (name))
    {
      g_assert_cmpstr (path, ==, ferry_maildir_layout_get_inbox_path (layout));
      return;
    }
  g_assert_cmpstr (path, !=, ferry_maildir_layout_get_inbox_path (layout));
  if (!g_str_has_prefix (path, root) || path[strlen (root)] != '/')
    g_error ("“%s” maps to %s, outside %s", name, path, root);

  relative = path + strlen (root) + 1;
  g_assert_true (g_utf8_validate (relative, -1, NULL));
  levels = g_strsplit (relative, "/", -1);
  for (guint i = 0; levels[i] != NULL; i++)
    {
      g_assert_cmpstr (levels[i], !=, "");
      g_assert_cmpstr (levels[i], !=, ".");
      g_assert_cmpstr (levels[i], !=, "..");
      for (const char *c = levels[i]; *c != '\0'; c++)
        g_assert_true ((guchar) *c >= 0x20 && *c != 0x7f);
    }
  if (maildirpp)
    {
      /* one hidden directory in the root, as Maildir++ has it */
      g_assert_true (relative[0] == '.');
      g_assert_null (strchr (relative, '/'));
      return;
    }
  for (guint i = 0; levels[i] != NULL; i++)
    {
      g_assert_false (levels[i][0] == '.');
      g_assert_cmpstr (levels[i], !=, "cur");
      g_assert_cmpstr (levels[i], !=, "new");
      g_assert_cmpstr (levels[i], !=, "tmp");
    }
}

/* The canonical spelling of @name: the INBOX level upper case. */
static char *
canonical_name (const char *name)
{
  const char *slash = strchr (name, '/');
  gsize first = slash != NULL ? (gsize) (slash - name) : strlen (name);

  if (first == 5 && g_ascii_strncasecmp (name, "INBOX", 5) == 0)
    return g_strconcat ("INBOX", name + 5, NULL);
  return g_strdup (name);
}

static void
sweep (Fixture *f, FerryMaildirLayout *layout, gboolean maildirpp, guint seed)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
  g_autoptr (GHashTable) by_path = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr (GPtrArray) created = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) listed = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *real_root = NULL;
  guint accepted = 0;

  for (guint i = 0; i < SWEEP_NAMES; i++)
    {
      g_autofree char *name = random_name (rand);
      g_autofree char *path = ferry_maildir_layout_path_for (layout, name, &error);
      g_autofree char *canonical = NULL;
      const char *other;

      if (path == NULL)
        {
          g_assert_error (error, FERRY_ERROR, FERRY_ERROR_DATA);
          g_clear_error (&error);
          continue;
        }
      accepted++;
      check_accepted (layout, maildirpp, name, path);

      /* two names never share a directory */
      canonical = canonical_name (name);
      other = g_hash_table_lookup (by_path, path);
      if (other != NULL && !g_str_equal (other, canonical))
        g_error ("“%s” and “%s” both map to %s", other, canonical, path);
      if (other == NULL)
        {
          g_hash_table_insert (by_path, g_strdup (path), g_strdup (canonical));
          if (created->len < SWEEP_CREATED)
            g_ptr_array_add (created, g_strdup (canonical));
        }
    }
  g_test_message ("%u of %u names accepted", accepted, SWEEP_NAMES);
  g_assert_cmpuint (accepted, >, SWEEP_NAMES / 20);
  g_assert_cmpuint (accepted, <, SWEEP_NAMES);

  /* made for real, every accepted folder resolves inside the root (or is
   * the INBOX), and listing gives back exactly the names made */
  for (guint i = 0; i < created->len; i++)
    create (layout, g_ptr_array_index (created, i));
  real_root = realpath (f->root, NULL);
  for (guint i = 0; i < created->len; i++)
    {
      const char *name = g_ptr_array_index (created, i);
      g_autofree char *path = ferry_maildir_layout_path_for (layout, name, NULL);
      char *real = realpath (path, NULL);

      g_assert_nonnull (real);
      if (!g_str_equal (path, ferry_maildir_layout_get_inbox_path (layout)))
        g_assert_true (g_str_has_prefix (real, real_root) && real[strlen (real_root)] == '/');
      free (real);
    }
  listed = ferry_maildir_layout_list (layout, &error);
  g_assert_no_error (error);
  {
    g_autoptr (GHashTable) made = g_hash_table_new (g_str_hash, g_str_equal);

    for (guint i = 0; i < created->len; i++)
      g_hash_table_add (made, g_ptr_array_index (created, i));
    for (guint i = 0; i < listed->len; i++)
      if (!g_hash_table_remove (made, g_ptr_array_index (listed, i)))
        g_error ("listed “%s”, which was not made", (char *) g_ptr_array_index (listed, i));
    g_assert_cmpuint (g_hash_table_size (made), ==, 0);
  }
}

static void
test_sweep_verbatim (Fixture *f, gconstpointer data)
{
  g_autoptr (FerryMaildirLayout) layout = new_layout (f, FERRY_SUBFOLDERS_VERBATIM, NULL);
  sweep (f, layout, FALSE, 1);
}

static void
test_sweep_verbatim_inbox_at_root (Fixture *f, gconstpointer data)
{
  g_autoptr (FerryMaildirLayout) layout = new_layout (f, FERRY_SUBFOLDERS_VERBATIM, f->root);
  sweep (f, layout, FALSE, 2);
}

static void
test_sweep_verbatim_inbox_outside (Fixture *f, gconstpointer data)
{
  g_autoptr (FerryMaildirLayout) layout = new_layout (f, FERRY_SUBFOLDERS_VERBATIM, f->outside);
  sweep (f, layout, FALSE, 3);
}

static void
test_sweep_maildirpp (Fixture *f, gconstpointer data)
{
  g_autoptr (FerryMaildirLayout) layout = new_layout (f, FERRY_SUBFOLDERS_MAILDIRPP, NULL);
  sweep (f, layout, TRUE, 4);
}

/* Symbolic links ------------------------------------------------------------------ */

static void
test_symlinks_verbatim (Fixture *f, gconstpointer data)
{
  g_autoptr (FerryMaildirLayout) layout = new_layout (f, FERRY_SUBFOLDERS_VERBATIM, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (FerryMaildirFolder) folder = NULL;
  g_autofree char *listing = NULL;
  static const char *const expected[] = { "Mail/evil", "Mail/a/b", NULL };

  make_maildir (f->outside, "victim");
  create (layout, "a");
  make_link (f->outside, f->root, "evil");
  make_link (f->outside, f->root, "a/b");
  make_maildir (f->outside, "");

  g_assert_false (ferry_maildir_layout_create_folder (layout, "evil/x", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TOO_MANY_LINKS);
  g_assert_nonnull (strstr (error->message, "symbolic link"));
  g_clear_error (&error);
  g_assert_false (ferry_maildir_layout_create_folder (layout, "a/b/c", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TOO_MANY_LINKS);
  g_clear_error (&error);
  g_assert_false (ferry_maildir_layout_create_folder (layout, "evil", &error));
  g_clear_error (&error);
  g_assert_false (ferry_maildir_layout_delete_folder (layout, "evil/victim", &error));
  g_clear_error (&error);
  folder = ferry_maildir_layout_open_folder (layout, "evil", FALSE, &error);
  g_assert_null (folder);
  g_clear_error (&error);

  /* nothing was made or removed outside */
  g_assert_false (is_dir (f->outside, "x"));
  g_assert_false (is_dir (f->outside, "c"));
  g_assert_true (is_dir (f->outside, "victim/cur"));

  listing = list_names (layout);
  g_assert_cmpstr (listing, ==, "a");
  assert_warnings (expected);
}

/* The INBOX path is configuration: a link there is the user's choice. */
static void
test_symlinked_inbox (Fixture *f, gconstpointer data)
{
  g_autoptr (FerryMaildirLayout) layout = new_layout (f, FERRY_SUBFOLDERS_VERBATIM, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (FerryMaildirFolder) folder = NULL;
  g_autofree char *listing = NULL;

  g_assert_cmpint (g_mkdir (f->root, 0700), ==, 0);
  make_maildir (f->outside, "");
  make_link (f->outside, f->root, "INBOX");

  folder = ferry_maildir_layout_open_folder (layout, "INBOX", FALSE, &error);
  g_assert_no_error (error);
  listing = list_names (layout);
  g_assert_cmpstr (listing, ==, "INBOX");
}

static void
test_symlinks_maildirpp (Fixture *f, gconstpointer data)
{
  g_autoptr (FerryMaildirLayout) layout = new_layout (f, FERRY_SUBFOLDERS_MAILDIRPP, NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *listing = NULL;
  static const char *const expected[] = { "Mail/.Evil", NULL };

  create (layout, "INBOX");
  make_maildir (f->outside, "");
  make_link (f->outside, f->root, ".Evil");

  g_assert_false (ferry_maildir_layout_create_folder (layout, "Evil", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TOO_MANY_LINKS);
  listing = list_names (layout);
  g_assert_cmpstr (listing, ==, "INBOX");
  assert_warnings (expected);
}

/* Creating, listing, deleting --------------------------------------------------- */

static void
test_folders_verbatim (Fixture *f, gconstpointer data)
{
  g_autoptr (FerryMaildirLayout) layout = new_layout (f, FERRY_SUBFOLDERS_VERBATIM, NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *listing = NULL;
  static const char *const names[]
      = { "INBOX", "Archive", "Archive/2024", "Entwürfe", "日本語", "Deep/Er/Est", "INBOX/Sub" };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    create (layout, names[i]);
  /* creating an existing folder is fine */
  create (layout, "Archive");
  listing = list_names (layout);
  g_assert_cmpstr (listing, ==, "Archive|Archive/2024|Deep/Er/Est|Entwürfe|INBOX|INBOX/Sub|日本語");

  g_assert_cmpuint (mode_of (f->root, ""), ==, 0700);
  g_assert_cmpuint (mode_of (f->root, "Deep"), ==, 0700);
  g_assert_cmpuint (mode_of (f->root, "Deep/Er/Est/cur"), ==, 0700);
  g_assert_false (is_dir (f->root, "Deep/cur"));

  /* a level that is a folder and a parent keeps its directory */
  g_assert_true (ferry_maildir_layout_delete_folder (layout, "Archive", &error));
  g_assert_no_error (error);
  g_assert_false (is_dir (f->root, "Archive/cur"));
  g_assert_true (is_dir (f->root, "Archive/2024/cur"));

  /* empty parents made on the way go too */
  g_assert_true (ferry_maildir_layout_delete_folder (layout, "Deep/Er/Est", &error));
  g_assert_no_error (error);
  g_assert_false (is_dir (f->root, "Deep"));

  g_free (listing);
  listing = list_names (layout);
  g_assert_cmpstr (listing, ==, "Archive/2024|Entwürfe|INBOX|INBOX/Sub|日本語");

  g_assert_false (ferry_maildir_layout_delete_folder (layout, "Archive", &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (ferry_maildir_layout_delete_folder (layout, "Nowhere/x", &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (ferry_maildir_layout_delete_folder (layout, "inbox", &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_DATA);
  g_clear_error (&error);
  g_assert_false (ferry_maildir_layout_delete_folder (layout, "../outside", &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_DATA);
}

static void
test_delete_only_empty (Fixture *f, gconstpointer data)
{
  g_autoptr (FerryMaildirLayout) layout = new_layout (f, FERRY_SUBFOLDERS_VERBATIM, NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *stale = g_build_filename (f->root, "Old", "tmp", "stale", NULL);
  struct timespec times[2] = { { 1000000000, 0 }, { 1000000000, 0 } };

  create (layout, "Full");
  put_file (f->root, "Full/new/1.M1P1.host", "Subject: keep me\n\n");
  g_assert_false (ferry_maildir_layout_delete_folder (layout, "Full", &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_DATA);
  g_assert_nonnull (strstr (error->message, "not empty"));
  g_clear_error (&error);
  g_assert_true (is_dir (f->root, "Full/cur") && is_dir (f->root, "Full/new")
                 && is_dir (f->root, "Full/tmp"));

  create (layout, "Seen");
  put_file (f->root, "Seen/cur/1.M1P1.host:2,S", "Subject: keep me\n\n");
  g_assert_false (ferry_maildir_layout_delete_folder (layout, "Seen", &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_DATA);
  g_clear_error (&error);

  /* a delivery in progress counts; one dead for days does not */
  create (layout, "Busy");
  put_file (f->root, "Busy/tmp/2.M2P2.host", "half a message");
  g_assert_false (ferry_maildir_layout_delete_folder (layout, "Busy", &error));
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_DATA);
  g_clear_error (&error);

  create (layout, "Old");
  put_file (f->root, "Old/tmp/stale", "dead delivery");
  g_assert_cmpint (utimensat (AT_FDCWD, stale, times, 0), ==, 0);
  g_assert_true (ferry_maildir_layout_delete_folder (layout, "Old", &error));
  g_assert_no_error (error);
  g_assert_false (is_dir (f->root, "Old"));
}

static void
test_folders_maildirpp (Fixture *f, gconstpointer data)
{
  g_autoptr (FerryMaildirLayout) layout = new_layout (f, FERRY_SUBFOLDERS_MAILDIRPP, NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *listing = NULL;
  g_autofree char *marker = g_build_filename (f->root, ".Archive.2024", "maildirfolder", NULL);

  create (layout, "Archive/2024");
  listing = list_names (layout);
  g_assert_cmpstr (listing, ==, "Archive/2024");
  g_clear_pointer (&listing, g_free);

  create (layout, "INBOX");
  create (layout, "Archive");
  create (layout, "INBOX/Sub");
  create (layout, "Entwürfe");
  g_assert_true (is_dir (f->root, "cur"));
  g_assert_true (is_dir (f->root, ".Archive.2024/cur"));
  g_assert_true (g_file_test (marker, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpuint (mode_of (f->root, ".Archive.2024/tmp"), ==, 0700);
  listing = list_names (layout);
  g_assert_cmpstr (listing, ==, "Archive|Archive/2024|Entwürfe|INBOX|INBOX/Sub");

  g_assert_true (ferry_maildir_layout_delete_folder (layout, "Archive/2024", &error));
  g_assert_no_error (error);
  g_assert_false (is_dir (f->root, ".Archive.2024"));
  g_assert_true (is_dir (f->root, ".Archive/cur"));
  g_assert_true (is_dir (f->root, "cur"));
}

static void
test_list_skips_verbatim (Fixture *f, gconstpointer data)
{
  g_autoptr (FerryMaildirLayout) layout = new_layout (f, FERRY_SUBFOLDERS_VERBATIM, NULL);
  g_autofree char *listing = NULL;
  static const char *const expected[]
      = { "Mail/bad\\xff", "Mail/ctl\\x01", "Mail/inbox", "Mail/Plain/odd\\x7f", NULL };

  make_maildir (f->root, "INBOX");
  make_maildir (f->root, "Good");
  make_maildir (f->root, "Plain/Below");
  make_maildir (f->root, "bad\xff");
  make_maildir (f->root, "bad\xff/Child");
  make_maildir (f->root, "ctl\x01");
  make_maildir (f->root, "inbox");
  make_maildir (f->root, "Plain/odd\x7f");
  make_maildir (f->root, ".hidden");
  make_maildir (f->root, ".notmuch/xapian");
  make_maildir (f->root, "Good/cur/inside");
  put_file (f->root, "file", "not a folder");
  /* only cur/ makes a Maildir: backups drop empty new/ and tmp/ */
  g_assert_cmpint (g_mkdir_with_parents (f->root, 0700), ==, 0);
  {
    g_autofree char *cur_only = g_build_filename (f->root, "CurOnly", "cur", NULL);
    g_autofree char *no_cur = g_build_filename (f->root, "NoCur", "new", NULL);

    g_assert_cmpint (g_mkdir_with_parents (cur_only, 0700), ==, 0);
    g_assert_cmpint (g_mkdir_with_parents (no_cur, 0700), ==, 0);
  }

  listing = list_names (layout);
  g_assert_cmpstr (listing, ==, "CurOnly|Good|INBOX|Plain/Below");
  assert_warnings (expected);
}

static void
test_list_skips_maildirpp (Fixture *f, gconstpointer data)
{
  g_autoptr (FerryMaildirLayout) layout = new_layout (f, FERRY_SUBFOLDERS_MAILDIRPP, NULL);
  g_autofree char *listing = NULL;
  static const char *const expected[]
      = { "Mail/..x", "Mail/.a..b", "Mail/.INBOX:", "Mail/.inbox.Sub", "Mail/.bad\\xff",
          "Mail/.x.", NULL };

  make_maildir (f->root, "");
  make_maildir (f->root, ".Good");
  make_maildir (f->root, ".Good.Child");
  make_maildir (f->root, ".INBOX.Sub");
  make_maildir (f->root, "..x");
  make_maildir (f->root, ".a..b");
  make_maildir (f->root, ".INBOX");
  make_maildir (f->root, ".inbox.Sub");
  make_maildir (f->root, ".bad\xff");
  make_maildir (f->root, ".x.");
  make_maildir (f->root, "NotDotted");
  make_maildir (f->root, ".notmuch/xapian");

  listing = list_names (layout);
  g_assert_cmpstr (listing, ==, "Good|Good/Child|INBOX|INBOX/Sub");
  assert_warnings (expected);
}

static void
test_list_missing_root (Fixture *f, gconstpointer data)
{
  g_autoptr (FerryMaildirLayout) layout = new_layout (f, FERRY_SUBFOLDERS_VERBATIM, NULL);
  g_autoptr (FerryMaildirLayout) outside = new_layout (f, FERRY_SUBFOLDERS_VERBATIM, f->outside);
  g_autofree char *listing = list_names (layout);
  g_autofree char *outside_listing = NULL;

  g_assert_cmpstr (listing, ==, "");
  make_maildir (f->outside, "");
  outside_listing = list_names (outside);
  g_assert_cmpstr (outside_listing, ==, "INBOX");
}

/* A directory that cannot be read fails the listing: its folders would
 * otherwise look deleted. */
static void
test_list_unreadable (Fixture *f, gconstpointer data)
{
  g_autoptr (FerryMaildirLayout) layout = new_layout (f, FERRY_SUBFOLDERS_VERBATIM, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) names = NULL;
  g_autofree char *locked = g_build_filename (f->root, "Locked", NULL);

  if (geteuid () == 0)
    {
      g_test_skip ("root reads every directory");
      return;
    }
  make_maildir (f->root, "Locked/Inside");
  g_assert_cmpint (g_chmod (locked, 0), ==, 0);
  names = ferry_maildir_layout_list (layout, &error);
  g_assert_cmpint (g_chmod (locked, 0700), ==, 0);
  g_assert_null (names);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
}

static void
test_open_folder (Fixture *f, gconstpointer data)
{
  g_autoptr (FerryMaildirLayout) layout = new_layout (f, FERRY_SUBFOLDERS_VERBATIM, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (FerryMaildirFolder) folder = NULL;
  g_autofree char *path = g_build_filename (f->root, "Archive", "2024", NULL);

  folder = ferry_maildir_layout_open_folder (layout, "Archive/2024", FALSE, &error);
  g_assert_null (folder);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_NOT_FOUND);
  g_clear_error (&error);

  folder = ferry_maildir_layout_open_folder (layout, "Archive/2024", TRUE, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (ferry_maildir_folder_get_path (folder), ==, path);
  g_clear_pointer (&folder, ferry_maildir_folder_unref);

  folder = ferry_maildir_layout_open_folder (layout, "Archive/2024", FALSE, &error);
  g_assert_no_error (error);
  g_clear_pointer (&folder, ferry_maildir_folder_unref);

  folder = ferry_maildir_layout_open_folder (layout, "Archive/../..", TRUE, &error);
  g_assert_null (folder);
  g_assert_error (error, FERRY_ERROR, FERRY_ERROR_DATA);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  umask (022);
  warnings = g_ptr_array_new_with_free_func (g_free);
  g_log_set_writer_func (log_writer, NULL, NULL);

#define ADD(name, func) g_test_add (name, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/maildir-layout/new", test_new);
  g_test_add_func ("/maildir-layout/is-inbox", test_is_inbox);
  ADD ("/maildir-layout/path-for/verbatim", test_path_for_verbatim);
  ADD ("/maildir-layout/path-for/maildirpp", test_path_for_maildirpp);
  ADD ("/maildir-layout/path-for/inbox-placements", test_path_for_inbox_placements);
  ADD ("/maildir-layout/path-for/refusals", test_path_for_refusals);
  ADD ("/maildir-layout/sweep/verbatim", test_sweep_verbatim);
  ADD ("/maildir-layout/sweep/verbatim-inbox-at-root", test_sweep_verbatim_inbox_at_root);
  ADD ("/maildir-layout/sweep/verbatim-inbox-outside", test_sweep_verbatim_inbox_outside);
  ADD ("/maildir-layout/sweep/maildirpp", test_sweep_maildirpp);
  ADD ("/maildir-layout/symlinks/verbatim", test_symlinks_verbatim);
  ADD ("/maildir-layout/symlinks/inbox", test_symlinked_inbox);
  ADD ("/maildir-layout/symlinks/maildirpp", test_symlinks_maildirpp);
  ADD ("/maildir-layout/folders/verbatim", test_folders_verbatim);
  ADD ("/maildir-layout/folders/delete-only-empty", test_delete_only_empty);
  ADD ("/maildir-layout/folders/maildirpp", test_folders_maildirpp);
  ADD ("/maildir-layout/list/skips-verbatim", test_list_skips_verbatim);
  ADD ("/maildir-layout/list/skips-maildirpp", test_list_skips_maildirpp);
  ADD ("/maildir-layout/list/missing-root", test_list_missing_root);
  ADD ("/maildir-layout/list/unreadable", test_list_unreadable);
  ADD ("/maildir-layout/open-folder", test_open_folder);
#undef ADD
  return g_test_run ();
}
