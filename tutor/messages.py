"""Every sentence a user (instructor or learner) is shown when something is wrong.

One place, so the wording stays consistent and each message says what was wrong and what to do.
"""

from __future__ import annotations

# redis-cli lines
EMPTY_COMMAND = "the command is empty; write a Redis command such as 'LPUSH queue hello'"
UNBALANCED_QUOTES = "unbalanced quotes in the command; close every \" or ' you open"
QUOTE_NOT_FOLLOWED_BY_SPACE = "a closing quote must be followed by a space or the end of the line"
UNKNOWN_COMMAND = "unknown Redis command '{name}'{hint}"
DID_YOU_MEAN = " (did you mean {name}?)"
NOT_IN_LESSONS = (
    "'{name}' is a Redis command, but not one lessons can use yet: the engine runs only commands whose keys "
    "it knows how to keep inside the lesson (docs/authoring.md, section 7 lists them); ask for it to be added"
)
FORBIDDEN_GLOBAL = "'{name}' is not available in lessons: it reaches beyond the lesson's own keys or the server"
FORBIDDEN_CONNECTION = (
    "'{name}' is not available in lessons: it changes the actor's connection itself (protocol, login, "
    "database or cluster mode), which the engine keeps as it is for the whole run"
)
FORBIDDEN_SUBSCRIBE = (
    "'{name}' is not available in lessons: sharded pub/sub belongs to Redis Cluster; "
    "use SUBSCRIBE and UNSUBSCRIBE (or PSUBSCRIBE and PUNSUBSCRIBE)"
)
FORBIDDEN_CLOCK = (
    "'{name}' is not available in lessons: its reply depends on the server's wall clock, not on lesson time, "
    "so the trace would differ between runs"
)
FORBIDDEN_TIMESTAMP = (
    "'{name}' is not available in lessons: it takes a Unix time on the server's clock, so what it does depends "
    "on when the lesson runs; use EXPIRE or PEXPIRE with at least 60 s"
)
FORBIDDEN_CHANCE = (
    "'{name}' is not available in lessons: it picks at random, so the trace would differ between runs "
    "(and the embedded server draws differently from Redis)"
)
TIMESTAMP_OPTION = (
    "{name} with {option} takes a Unix time on the server's clock, so the trace would depend on when the "
    "lesson runs; leave {option} out (XCLAIM: use IDLE; SET and GETEX: use EX or PX with at least 60 s)"
)
SORT_PATTERN = (
    "{name} with {option} reads other keys named by a pattern, which cannot be kept inside the lesson's "
    "own keys; sort the key's own values (ASC, DESC, ALPHA, LIMIT, STORE)"
)
XINFO_SUBCOMMAND = (
    "unknown XINFO subcommand '{sub}'{hint}: lessons can use XINFO STREAM key, XINFO GROUPS key "
    "and XINFO CONSUMERS key group"
)
XINFO_MISSING = "XINFO needs a subcommand: XINFO STREAM key, XINFO GROUPS key or XINFO CONSUMERS key group"
XINFO_HELP = (
    "XINFO HELP is not available in lessons: the embedded server does not have it; lessons can use "
    "XINFO STREAM key, XINFO GROUPS key and XINFO CONSUMERS key group"
)
XINFO_FULL = (
    "XINFO STREAM with FULL is not available in lessons: its reply holds Unix times from the server's clock "
    "(seen-time, delivery times), and the embedded server leaves out its group details; show XINFO CONSUMERS "
    "and XPENDING, whose idle times follow lesson time"
)
XADD_STAR = (
    "XADD with '*' makes an ID from the wall clock, so the trace would differ between runs; "
    "give an explicit ID such as 1-0"
)

# lesson structure
YAML_SYNTAX = "YAML syntax error: {problem}"
YAML_INDENTATION = (
    "this line starts at column {col}, but the one above it (line {above}) at column {above_col}: "
    "the fields of one mapping, and the items of one list, start in the same column; fix the indentation"
)
YAML_INDENTATION_PLAIN = "this line is not indented like the lines above it; fix the indentation"
YAML_INDENTED_TOO_DEEP = (
    "this line is indented deeper (column {col}) than the field above it (line {above}, column {above_col}), "
    "so YAML reads it as part of that field's value; align it with the field above"
)
YAML_COLON_IN_VALUE = (
    "a colon followed by a space inside an unquoted value starts a new field; quote the whole value "
    '(action: "Wait: then pop")'
)
YAML_AFTER_QUOTE = "text follows a closing quote; quote the whole value, or none of it"
YAML_TAB = "a tab character; YAML indents with spaces only, so replace the tab with spaces"
YAML_BAD_START = "an unquoted value cannot start with '{char}'; quote the value"
YAML_UNCLOSED_QUOTE = (
    "the quote opened here (line {line}, column {col}) is never closed; close it, or quote the text "
    "with the other kind of quote if it contains this one"
)
YAML_UNCLOSED_FLOW = (
    "the '{bracket}' opened here is not closed with '{closing}' before line {line}; close it, and quote "
    "items that contain ':', ',', '[', ']', '{{' or '}}'"
)
YAML_FLOW_ITEM = (
    "inside '{bracket} ... {closing}' this character cannot appear unquoted; quote the item that "
    'contains it ("a: b", "x, y")'
)
YAML_NO_COLON = (
    "line {line} has no ':' after its field name (write name: value); a text over several lines needs "
    "quotes, or | on the line of its field"
)
YAML_ALIAS_START = "'{sign}' at the start of a value is YAML's alias/anchor sign; quote a value that starts with it"
YAML_BAD_ESCAPE = "'\\{char}' is not an escape inside double quotes; write \\\\ for a backslash, or use single quotes"
YAML_BLOCK_SCALAR = "after | or > only - or + (and an indentation number) may follow; start the text on the next line"
YAML_DUPLICATE_ANCHOR = "this anchor name is already defined at line {line}; give each anchor its own name"
YAML_SECOND_DOCUMENT = "a second YAML document starts here (---); a lesson file holds one document"
YAML_COMPLEX_KEY = "a field name must be plain text, not a list or a mapping"
YAML_UNDEFINED_ALIAS = (
    "*{name} refers to an anchor &{name} that is not defined before it; quote text that starts with *"
)
YAML_RECURSIVE_ALIAS = "*{name} is inside the value it refers to (&{name}), which would never end"
YAML_TOO_MANY_ALIASED = (
    "the file expands to more than {limit} values (counting every use of an alias in full); "
    "a lesson never needs that many, so this file is not loaded"
)
YAML_TOO_MANY_VALUES = "the file holds more than {limit} values; a lesson never needs that many, so it is not loaded"
YAML_TOO_DEEP = "nested more than {limit} levels deep; a lesson never needs that, so this file is not loaded"
YAML_NUMBER_TOO_LONG = (
    "a number written with {length} characters; lesson numbers have at most {limit} (quote it if it is text)"
)
YAML_VERSIONS_DISAGREE = (
    "{text} means {old} in YAML 1.1 (PyYAML) but {new} in YAML 1.2 (editors, and tutor); "
    "write {ways} so every reader agrees"
)
YAML_UNSUPPORTED_TAG = "the tag {tag} is not supported in lessons; write the value without a tag"
YAML_BAD_TAGGED = "{text!r} is not a valid {tag}"
FILE_TOO_LARGE = "the file has {size} bytes; a lesson file may have at most {limit}"
TOO_MANY_PROBLEMS = "and {count} more problem(s) in this file; fix the ones above first"
NOT_A_MAPPING = "a lesson file must be a mapping of fields (title:, step_through: ...)"
DUPLICATE_FIELD = "field '{name}' appears twice"
UNKNOWN_FIELD = "unknown field '{name}'{hint} (allowed: {allowed})"
MISSING_FIELD = "missing required field '{name}'"
WRONG_TYPE = "expected {expected}, got {actual}"
NOT_ONE_OF = "expected one of {allowed}, got {actual!r}"
TOO_SHORT = "needs at least {minimum} item(s)"
TOO_SMALL = "must be at least {minimum}, got {actual!r}"
TOO_LARGE = "must be at most {maximum}, got {actual!r}"
MUST_BE = "must be {value}"
BAD_PATTERN = "{actual!r} does not match {what}"
NO_MODE = "a lesson needs at least one mode: step_through: or performance:"
DUPLICATE_ID = "lesson id '{id}' is already used by {other}"
UNKNOWN_BUILDS_ON = "builds_on names lesson '{id}', which does not exist (lesson ids: {known})"

# references inside a lesson
UNKNOWN_ACTOR = "unknown actor '{name}' (declared actors: {known})"
UNKNOWN_WATCH = "unknown key '{name}' (watched keys: {known})"
UNKNOWN_VARIABLE = "unknown variable '{name}' (declared variables: {known})"
ASSIGN_WITHOUT_COMMAND = "assign: needs a redis: or python: command in the same step"
BOTH_COMMANDS = "a step runs either redis: or python:, not both"
EMPTY_STEP = "a step needs redis:, python: or note:"
EXPECT_WITHOUT_COMMAND = "expect: needs a redis: or python: command in the same step to check"
BAD_FILE_ID = (
    "the file name '{stem}' is not a valid lesson id (lower-case letters, digits, '-', '_'); rename the file or add id:"
)
PYTHON_WITHOUT_PROCESS = "actor '{name}' has no process memory; declare it under processes:"
STEP_OUT_OF_RANGE = "step {step} does not exist (the steps are numbered 1 to {count})"
STAGE_OUT_OF_RANGE = "stage {stage} does not exist (concept_flow has stages 1 to {count})"
LINE_OUT_OF_RANGE = "line {line} does not exist (the sample has lines 1 to {count})"
LINE_WITHOUT_SAMPLE = "line: needs a sample: in this step-through"
LINE_TEXT_NOT_FOUND = "no line of the sample contains {text!r}"
LINE_TEXT_AMBIGUOUS = "{text!r} is on {count} lines of the sample ({lines}); give more of the line so only one matches"
LINE_BLANK = "line {line} of the sample is blank; point at the code the step runs (or write line: as text on that line)"
LINE_COMMENT = (
    "line {line} of the sample is a comment ({text!r}); point at the code the step runs "
    "(or write line: as text on that line)"
)
WATCH_UNUSED = "no step uses the key '{name}'{hint} (keys the steps use: {known})"
PREDICTION_ANSWER_STEP = (
    "a prediction asked before step {ask} is answered by step {ask} (the page says 'Step {ask} shows it'), "
    "but answer_from reads step {step}; use step: {ask}, or drop ask_before_step"
)
PREDICTION_OTHER_WALK = (
    "a prediction asked before step {ask} is answered by step {ask} of its own step-through, "
    "but answer_from reads step-through '{other}'"
)
DUPLICATE_SLUG = "slug '{slug}' is used by two step-throughs"
TOO_MANY = "{what}: at most {limit} allowed, got {count}"

# execution
EXPECT_MISMATCH = "expected {expected}, but Redis replied {actual}"
EXPECT_MISMATCH_PYTHON = "expected {expected}, but Python gave {actual}"
EXPECT_BLOCKED = "expected the command to block, but it returned {actual}"
EXPECT_NOT_BLOCKED = "expected {expected}, but the command blocked (the keys it waits on are empty)"
EXPECT_ERROR_OTHER = "expected error {expected!r}, Redis answered {actual!r}"
EXPECT_ERROR_OTHER_PYTHON = "expected error {expected!r}, Python raised {actual!r}"
EXPECT_VALUE_GOT_ERROR = "expected {expected}, but Redis answered the error {actual!r}"
EXPECT_VALUE_GOT_ERROR_PYTHON = "expected {expected}, but Python raised {actual!r}"
REDIS_ERROR = "Redis rejected the command: {error}"
ONLY_ON = "{message} (on {name} only)"
BOTH_NEEDS_REDIS = "--both compares fakeredis with a real Redis: give its URL with --redis-url or REDIS_URL"
BACKENDS_DISAGREE = (
    "{other} disagrees with {real} at step {step}: {what} is {real_value} on {real} but {other_value} on "
    "{other}; {real} is the reference, so rewrite the step to avoid the difference"
)
PYTHON_ERROR = 'Python raised {error}; add expect: "{error}" if this is what the step teaches'
ACTOR_SUBSCRIBED = (
    "actor '{actor}' subscribed at step {since}: its connection now only receives messages, and may send only "
    "SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE or PUNSUBSCRIBE (as with redis-py's PubSub); give another actor the command"
)
SUBSCRIBE_IN_MULTI = "{name} cannot be queued inside MULTI in a lesson: subscribe outside the transaction"
UNSUBSCRIBE_ALL = (
    "{name} without a channel is not available in lessons: Redis lists the channels it leaves in its own "
    "hash-table order, which can differ between runs; name the channels (or patterns) to leave"
)
ACTOR_BLOCKED = (
    "actor '{actor}' is still blocked by its command at step {since}; it cannot send another "
    "command until a push wakes it or its timeout passes (add wait: to let time pass)"
)
BACKEND_FAILED = (
    "the {backend} server failed on this command ({error}); it cannot be run here. "
    "Try it on a real Redis with --redis-url, and report it if Redis accepts it"
)
BACKEND_TIMEOUT = "Redis did not answer within {seconds:g} s; the command was abandoned"
REPLY_TOO_LARGE = "the reply has {size} characters; a lesson step may show at most {limit}"

# python steps
PY_SYNTAX = "not a Python expression: {problem}"
PY_NOT_ALLOWED = (
    "only simple operations on declared lists, deques and dicts are allowed "
    "(append, appendleft, pop, popleft, clear, get, len, indexing, d[k] = v, literals); got {what}"
)
PY_UNKNOWN_NAME = "unknown name '{name}' (this process has: {known})"
PY_BAD_INITIAL = "process values must be lists, dicts or deque([...]) literals, got {actual!r}"

# quizzes
ANSWER_MISMATCH = "the choice marked correct is {marked}, but the execution gives {actual} ({source} after step {step})"
ANSWER_NOT_AMONG_CHOICES = "the execution gives {actual} ({source} after step {step}), and no choice says so"
QUIZ_NO_CORRECT = "a question needs at least one choice marked correct: true"
QUIZ_DUPLICATE_CHOICE = "choice {text!r} appears twice"
QUIZ_TOO_FEW = "a question needs at least two choices"
ANSWER_FROM_ONE_SOURCE = "answer_from takes exactly one of key:, variable: or reply: true"

# learners
LEARNER_BAD_STEP = "step must be a whole number between 0 and {count}"
LEARNER_UNKNOWN_LESSON = "there is no lesson '{id}'"
LEARNER_UNKNOWN_MODE = "lesson '{id}' has no {mode}"
LEARNER_BAD_FORM = "the form is incomplete or malformed: {what}"
LEARNER_BAD_CSRF = "this form has expired or did not come from this site; reload the page and try again"
LEARNER_UNKNOWN_QUESTION = "there is no question {question} in this quiz"
LEARNER_BAD_CHOICE = "choice {choice} is not one of this question's choices"

# the site
REDIS_UNREACHABLE = (
    "Redis ({url}) is not reachable right now, so no step can run; your progress is safe. Try again in a moment."
)
CLI_REDIS_UNREACHABLE = "Redis ({url}) is not reachable, so no step can run; start it or give another --redis-url"
REQUEST_TOO_LARGE = (
    "this request is larger than the site accepts ({limit}); its forms send far less, so reload the page and try again"
)
TRY_EMPTY = "type a Redis command to run, such as LRANGE queue 0 -1"
TRY_TOO_LONG = "the command is too long: at most {limit} characters"
TRY_UNKNOWN_ACTOR = "choose one of this lesson's actors to run the command: {known}"

# quizzes, the learner's side (tutor/quiz.py, tutor/quiz_views.py)
LEARNER_UNKNOWN_QUIZ = "there is no quiz {quiz!r} in this lesson"
LEARNER_NO_CHOICE = "choose an answer first, then submit"
LEARNER_ONE_CHOICE = "this question takes exactly one choice"
LEARNER_NO_HINT = "this question has no hint"
LEARNER_NOT_PREDICTION = "question {question} is not asked before a step"
LEARNER_BAD_PLACE = "the page to return to is unknown"
QUIZ_SCORING_RULE = (
    "Scoring: a right answer on the first try, without the hint, earns 1 point. Each wrong try before "
    "the right one takes 0.25 off, and so does showing the hint, down to 0.25 once you answer right. "
    "A question earns 0 until you answer it right. Retries are always allowed."
)
QUIZ_PREDICTION_INTRO = "Predict before step {step} runs: commit an answer (or skip), and the step shows what happens."
QUIZ_SKIPPED = "You skipped this prediction; it does not count as a wrong try. Answer it in the quiz any time."
RESULTS_NO_ANSWERS = "no quiz answers recorded yet"
RESULTS_UNKNOWN_LESSON = "no lesson '{id}' in {folder} (lessons: {known})"

# commands whose replies or waits the engine cannot pin down
SHORT_TTL = (
    "an expiry shorter than {minimum} s follows the server's clock, not the lesson's, so it could fire "
    "in the middle of a run; use at least {minimum} s"
)
BAD_TIMEOUT = "{name} needs its timeout as a plain number of seconds (milliseconds for XREAD BLOCK), such as 0 or 1.5"
PIPELINE_STAGE_OUT_OF_RANGE = "stage {stage} does not exist (the pipeline has stages 1 to {count})"
PREDICTION_HINT_SHOWS_ANSWER = (
    "this prediction is asked before step {ask} runs, but its hint opens the table at step {step}, which shows "
    "the answer; point hint_step at a step before {ask}, or leave it out"
)
CORRECTION_SOURCE_NO_LINK = (
    "a correction's source must be a page the learner can open: give its address (https://...), such as "
    "the official documentation page, and the experiment with its figures if you measured it"
)

# the step view (tutor/stepper.py, tutor/quiz_views.py)
STEP_HELD = "Next is held: predict what step {step} does, or skip the prediction, and step {step} runs."
PREDICTION_LOCKED = (
    "question {question} is a prediction about step {step}: answer it in the step-through at step {before}, "
    "or here once step {step} has run"
)
HINT_WHERE_KEY = "Where to look: the execution table, row {step}, column State of '{key}'."
HINT_WHERE_REPLY = "Where to look: the execution table, row {step}, column Result."
HINT_WHERE_VARIABLE = "Where to look: the variable tracker, row {name}, column After step {step}."
HINT_WHERE_ROW = "Where to look: the execution table, row {step}."

# your own run: the console, crashes, limits (tutor/ownrun.py, tutor/guard.py, tutor/console_views.py)
FAULT_WITH_COMMAND = "a crash: or restart: step does only that: no redis:, python: or second crash:/restart:"
ACTOR_CRASHED = "{actor}'s process was killed (crash at step {since}) and has no connection; restart {actor} first"
ACTOR_NOT_CRASHED = "{actor} is running; crash it before restarting it"
CRASH_NOTE = "{actor}'s process is killed: its connection closes, its waiting command is gone, its memory is lost"
RESTART_NOTE = "{actor} starts again with a new connection and empty memory"
WAIT_NOTE = "{seconds:g} seconds pass"
RUN_BLOCKED_ACTOR = (
    "{actor} is waiting for its {command} and cannot send another command; push to its key as another "
    "actor, let time pass, or crash {actor}"
)
RUN_BAD_TOKEN = "this shared run cannot be read: the link is damaged or was made for another lesson"
RUN_TOO_MANY_COMMANDS = (
    "your run has {limit} commands, the most one run may have; go back to the lesson's run to start again"
)
RUN_RATE_LIMITED = "too many commands in a minute (at most {limit}); wait a moment and try again"
RUN_VALUE_TOO_LARGE = "a value may hold at most {limit} bytes; this command would make one of {size} bytes"
RUN_TOO_MANY_ELEMENTS = "a key may hold at most {limit} elements; '{key}' would hold {count}"
RUN_MEMORY = "your run may use at most {limit} bytes of Redis memory; this command would bring it to {size}"
RUN_BODY_TOO_LARGE = "the form is too large: at most {limit} bytes"
RUN_BAD_SECONDS = "let between 1 and {limit} seconds pass"
RUN_UNKNOWN_DO = "unknown console action; use the buttons, or type a Redis command"
RUN_FAILED = "this command could not run in your run: {error}"
RUN_ENGINE_FAULT = "the site could not run it on this state ({kind}); try another command"
RUN_CANNOT_CONTINUE = (
    "the lesson cannot go on from your run at this step ({error}); this is the lesson's run: "
    "go back a step, or go back to the lesson's run"
)
HELP_UNKNOWN = "no help for '{name}': type HELP to list the commands your run allows"
HELP_INTRO = "Commands your run allows (HELP <command> shows its syntax):"

# the instructor area (tutor/instructor.py, tutor/accounts.py)
INSTRUCTOR_BAD_NAME = (
    "an instructor name is 1 to 64 characters: letters, digits, '_', '.', '@' or '-', starting with a letter or digit"
)
INSTRUCTOR_SHORT_PASSWORD = "the password is too short: use at least {minimum} characters"
INSTRUCTOR_LONG_PASSWORD = "the password is too long: at most {maximum} characters"
INSTRUCTOR_EXISTS = "there is already an instructor named '{name}'; remove it first to set a new password"
INSTRUCTOR_NO_SUCH = "there is no instructor named '{name}'"
INSTRUCTOR_PASSWORDS_DIFFER = "the two passwords differ; nothing was changed"
INSTRUCTOR_NO_PASSWORD_STDIN = "no password on standard input (give it as its first line)"
INSTRUCTOR_LOGIN_FAILED = "Wrong name or password."
INSTRUCTOR_LOGIN_THROTTLED = "Too many failed logins for this account or from this address; try again in {minutes}."
INSTRUCTOR_LOGIN_NEEDED = "Log in as an instructor to see this page."
INSTRUCTOR_BAD_CSRF = "this form has expired or did not come from this site; reload the page and try again"
INSTRUCTOR_LOGGED_OUT = "You are logged out."
INSTRUCTOR_UNKNOWN_FILE = "there is no lesson file '{name}' in the lessons folder"
INSTRUCTOR_UNKNOWN_LESSON = "there is no served lesson '{id}'"
