"""Malformed jobs.yaml files: each is reported with its exact position, path, message and hint.

Every case goes through the public entry point, ``jobrunner.load_config`` (imports
checked, as ``jobrunner validate`` and ``jobrunner run`` do), and asserts the complete
list of issues, so an extra or a missing report fails the case too.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import pytest

import jobrunner
from jobrunner.errors import ConfigError, Issue


class Expect(NamedTuple):
    line: int
    column: int
    path: str
    message: str
    hint: str | None


def case(id: str, text: str, issues: list[Expect], *, files: dict[str, str] | None = None) -> Any:
    return pytest.param(text, issues, files or {}, id=id)


# Variables the cases rely on being unset.
UNSET = ("JR_TEST_UNSET_URL", "JR_TEST_UNSET_PORT", "JR_TEST_URL")

CASES = [
    case(
        "retries_string_instead_of_integer",
        """
        version: 1
        tasks:
          count:
            function: sample_tasks:add
            retries: three
        """,
        [
            Expect(
                5, 14, "tasks.count.retries", "expected an integer, got the string 'three'", None
            ),
        ],
    ),
    case(
        "defaults_list_instead_of_mapping",
        """
        version: 1
        defaults: [retries, 2]
        """,
        [
            Expect(2, 11, "defaults", "expected a mapping, got a list", None),
        ],
    ),
    case(
        "tasks_list_instead_of_mapping",
        """
        version: 1
        tasks:
          - function: sample_tasks:add
        """,
        [
            Expect(
                3,
                3,
                "tasks",
                "expected a mapping, got a list",
                "write one `NAME:` entry per task (a mapping), not a list",
            ),
        ],
    ),
    case(
        "task_string_instead_of_mapping",
        """
        version: 1
        tasks:
          add: sample_tasks:add
        """,
        [
            Expect(
                3,
                8,
                "tasks.add",
                "expected a mapping, got the string 'sample_tasks:add'",
                "write `add: {function: sample_tasks:add}`",
            ),
        ],
    ),
    case(
        "task_without_body",
        """
        version: 1
        tasks:
          add:
        """,
        [
            Expect(
                3,
                3,
                "tasks.add",
                "expected a mapping, got nothing (null)",
                "give it keys, or remove it",
            ),
        ],
    ),
    case(
        "quoted_port_is_a_string",
        """
        version: 1
        instances:
          fast:
            backend: redis
            port: "6379"
        """,
        [
            Expect(
                5,
                11,
                "instances.fast.port",
                "expected an integer, got the string '6379'",
                "remove the quotes: `port: 6379`",
            ),
        ],
    ),
    case(
        "schedule_args_mapping_instead_of_list",
        """
        version: 1
        schedules:
          tick:
            function: sample_tasks:echo
            cron: "* * * * *"
            args: {a: 1}
        """,
        [
            Expect(6, 11, "schedules.tick.args", "expected a list, got a mapping", None),
        ],
    ),
    case(
        "unknown_top_level_key_did_you_mean",
        """
        version: 1
        taks: {}
        """,
        [
            Expect(2, 1, "taks", "unknown key 'taks'", "did you mean 'tasks'?"),
        ],
    ),
    case(
        "unknown_top_level_key_lists_allowed",
        """
        version: 1
        workers: 4
        """,
        [
            Expect(
                2,
                1,
                "workers",
                "unknown key 'workers'",
                "allowed keys here: defaults, http, instances, schedules, tasks, timezone, version",
            ),
        ],
    ),
    case(
        "unknown_task_key_did_you_mean",
        """
        version: 1
        tasks:
          add:
            function: sample_tasks:add
            retires: 3
        """,
        [
            Expect(5, 5, "tasks.add.retires", "unknown key 'retires'", "did you mean 'retries'?"),
        ],
    ),
    case(
        "unknown_schedule_key_did_you_mean",
        """
        version: 1
        schedules:
          tick:
            function: sample_tasks:echo
            cron: "* * * * *"
            timezon: UTC
        """,
        [
            Expect(
                6, 5, "schedules.tick.timezon", "unknown key 'timezon'", "did you mean 'timezone'?"
            ),
        ],
    ),
    case(
        "unknown_instance_key_did_you_mean",
        """
        version: 1
        instances:
          main:
            backend: sqlite
            resutls: true
        """,
        [
            Expect(
                5, 5, "instances.main.resutls", "unknown key 'resutls'", "did you mean 'results'?"
            ),
        ],
    ),
    case(
        "unknown_consumer_key_did_you_mean",
        """
        version: 1
        instances:
          main:
            consumer:
              worker: 2
        """,
        [
            Expect(
                5,
                7,
                "instances.main.consumer.worker",
                "unknown key 'worker'",
                "did you mean 'workers'?",
            ),
        ],
    ),
    case(
        "unknown_defaults_key_did_you_mean",
        """
        version: 1
        defaults:
          retry_dealy: 5
        """,
        [
            Expect(
                3,
                3,
                "defaults.retry_dealy",
                "unknown key 'retry_dealy'",
                "did you mean 'retry_delay'?",
            ),
        ],
    ),
    case(
        "unknown_serializer_key_did_you_mean",
        """
        version: 1
        instances:
          main:
            serializer:
              secrte: abc
        """,
        [
            Expect(
                5,
                7,
                "instances.main.serializer.secrte",
                "unknown key 'secrte'",
                "did you mean 'secret'?",
            ),
        ],
    ),
    case(
        "option_of_another_backend",
        """
        version: 1
        instances:
          fast:
            backend: redis
            url: redis://127.0.0.1:6379/0
            filename: jobs.db
        """,
        [
            Expect(
                6,
                5,
                "instances.fast.filename",
                "'filename' is not an option of backend 'redis'",
                (
                    "'filename' belongs to backend sqlite; options of backend 'redis': "
                    "blocking, client_name, db, host, notify_result, notify_result_ttl, "
                    "password, port, read_timeout, socket_connect_timeout, socket_timeout, url, "
                    "username (plus the keys every instance takes)"
                ),
            ),
        ],
    ),
    case(
        "redis_option_on_default_sqlite_instance",
        """
        version: 1
        instances:
          main:
            url: redis://127.0.0.1:6379/0
        """,
        [
            Expect(
                4,
                5,
                "instances.main.url",
                "'url' is not an option of backend 'sqlite'",
                (
                    "'url' belongs to backend priority-redis / redis / redis-expire (this "
                    "instance has no `backend:`, so it is sqlite); options of backend 'sqlite': "
                    "cache_mb, create_tables, filename, fsync, journal_mode, strict_fifo, "
                    "timeout (plus the keys every instance takes)"
                ),
            ),
        ],
    ),
    case(
        "unknown_instance_key_suggests_only_backend_options",
        """
        version: 1
        instances:
          fast:
            backend: redis
            hots: 127.0.0.1
        """,
        [
            Expect(5, 5, "instances.fast.hots", "unknown key 'hots'", "did you mean 'host'?"),
        ],
    ),
    case(
        "worker_type_threads_did_you_mean_thread",
        """
        version: 1
        instances:
          main:
            consumer:
              worker_type: threads
        """,
        [
            Expect(
                5,
                20,
                "instances.main.consumer.worker_type",
                "'threads' is not one of thread, process, greenlet",
                "did you mean 'thread'?",
            ),
        ],
    ),
    case(
        "backend_misspelled",
        """
        version: 1
        instances:
          main:
            backend: reddis
        """,
        [
            Expect(
                4,
                14,
                "instances.main.backend",
                (
                    "'reddis' is not one of sqlite, redis, redis-expire, priority-redis, "
                    "postgres, file, memory, custom"
                ),
                "did you mean 'redis'?",
            ),
        ],
    ),
    case(
        "negative_retries",
        """
        version: 1
        tasks:
          count_beans:
            function: sample_tasks:add
            retries: -1
        """,
        [
            Expect(5, 14, "tasks.count_beans.retries", "-1 is less than the minimum of 0", None),
        ],
    ),
    case(
        "workers_above_maximum",
        """
        version: 1
        instances:
          main:
            consumer:
              workers: 1000
        """,
        [
            Expect(
                5,
                16,
                "instances.main.consumer.workers",
                "1000 is greater than the maximum of 512",
                None,
            ),
        ],
    ),
    case(
        "duration_string_not_a_duration",
        """
        version: 1
        tasks:
          add:
            function: sample_tasks:add
            expires: 1 hour
        """,
        [
            Expect(
                5,
                14,
                "tasks.add.expires",
                "'1 hour' is not a duration",
                "give seconds (a number) or a string such as '30s', '5m', '1h30m', '2d'",
            ),
        ],
    ),
    case(
        "negative_duration_number",
        """
        version: 1
        defaults:
          retry_delay: -5
        """,
        [
            Expect(3, 16, "defaults.retry_delay", "-5 is less than the minimum of 0", None),
        ],
    ),
    case(
        "empty_serializer_secret",
        """
        version: 1
        instances:
          main:
            serializer:
              secret: ""
        """,
        [
            Expect(5, 15, "instances.main.serializer.secret", "must not be empty", None),
        ],
    ),
    case(
        "cron_minute_61",
        """
        version: 1
        schedules:
          tick:
            function: sample_tasks:echo
            cron: "61 * * * *"
        """,
        [
            Expect(
                5,
                12,
                "schedules.tick.cron",
                "invalid cron: minute '61' is not valid",
                "minute takes 0-59, written as *, */n, a-b, a-b/n or a comma list of those",
            ),
        ],
    ),
    case(
        "cron_hour_24",
        """
        version: 1
        schedules:
          tick:
            function: sample_tasks:echo
            cron: 0 24 * * *
        """,
        [
            Expect(
                5,
                13,
                "schedules.tick.cron",
                "invalid cron: hour '24' is not valid",
                "hour takes 0-23, written as *, */n, a-b, a-b/n or a comma list of those",
            ),
        ],
    ),
    case(
        "cron_four_fields",
        """
        version: 1
        schedules:
          tick:
            function: sample_tasks:echo
            cron: "0 3 * *"
        """,
        [
            Expect(
                5,
                11,
                "schedules.tick.cron",
                (
                    "invalid cron '0 3 * *': expected 5 fields (minute hour day month "
                    "day_of_week), got 4"
                ),
                'e.g. "*/15 * * * *" (every 15 minutes) or "0 3 * * 1-5" (03:00 on weekdays)',
            ),
        ],
    ),
    case(
        "cron_words",
        """
        version: 1
        schedules:
          tick:
            function: sample_tasks:echo
            cron: every day at noon
        """,
        [
            Expect(
                5,
                11,
                "schedules.tick.cron",
                (
                    "invalid cron 'every day at noon': expected 5 fields (minute hour day month "
                    "day_of_week), got 4"
                ),
                'e.g. "*/15 * * * *" (every 15 minutes) or "0 3 * * 1-5" (03:00 on weekdays)',
            ),
        ],
    ),
    case(
        "cron_garbage_day_of_week",
        """
        version: 1
        schedules:
          tick:
            function: sample_tasks:echo
            cron: "0 3 * * mon"
        """,
        [
            Expect(
                5,
                20,
                "schedules.tick.cron",
                "invalid cron: day_of_week 'mon' is not valid",
                (
                    "day_of_week takes 0-6 (0 = Sunday), written as *, */n, a-b, a-b/n or a "
                    "comma list of those"
                ),
            ),
        ],
    ),
    case(
        "cron_zero_step",
        """
        version: 1
        schedules:
          tick:
            function: sample_tasks:echo
            cron: "*/0 * * * *"
        """,
        [
            Expect(
                5,
                12,
                "schedules.tick.cron",
                "invalid cron: minute '*/0' is not valid (slice step cannot be zero)",
                "minute takes 0-59, written as *, */n, a-b, a-b/n or a comma list of those",
            ),
        ],
    ),
    case(
        "cron_mapping_hour_25",
        """
        version: 1
        schedules:
          tick:
            function: sample_tasks:echo
            cron: {minute: 0, hour: 25}
        """,
        [
            Expect(
                5,
                29,
                "schedules.tick.cron.hour",
                "invalid cron: hour '25' is not valid",
                "hour takes 0-23, written as *, */n, a-b, a-b/n or a comma list of those",
            ),
        ],
    ),
    case(
        "cron_mapping_month_13",
        """
        version: 1
        schedules:
          tick:
            function: sample_tasks:echo
            cron:
              minute: "0"
              month: "13"
        """,
        [
            Expect(
                7,
                14,
                "schedules.tick.cron.month",
                "invalid cron: month '13' is not valid",
                "month takes 1-12, written as *, */n, a-b, a-b/n or a comma list of those",
            ),
        ],
    ),
    case(
        "cron_mapping_unknown_field",
        """
        version: 1
        schedules:
          tick:
            function: sample_tasks:echo
            cron: {minute: 0, hours: 3}
        """,
        [
            Expect(
                5, 23, "schedules.tick.cron.hours", "unknown key 'hours'", "did you mean 'hour'?"
            ),
        ],
    ),
    case(
        "cron_mapping_negative_minute",
        """
        version: 1
        schedules:
          tick:
            function: sample_tasks:echo
            cron: {minute: -1}
        """,
        [
            Expect(5, 20, "schedules.tick.cron.minute", "-1 is less than the minimum of 0", None),
        ],
    ),
    case(
        "cron_mapping_boolean_field",
        """
        version: 1
        schedules:
          tick:
            function: sample_tasks:echo
            cron: {minute: true}
        """,
        [
            Expect(
                5,
                20,
                "schedules.tick.cron.minute",
                "expected a string or an integer, got the boolean true",
                None,
            ),
        ],
    ),
    case(
        "cron_list",
        """
        version: 1
        schedules:
          tick:
            function: sample_tasks:echo
            cron: [0, 3]
        """,
        [
            Expect(
                5,
                11,
                "schedules.tick.cron",
                "expected a crontab string or a mapping, got a list",
                'e.g. cron: "*/5 * * * *" or cron: {minute: "0", hour: "3"}',
            ),
        ],
    ),
    case(
        "cron_missing",
        """
        version: 1
        schedules:
          tick:
            function: sample_tasks:echo
        """,
        [
            Expect(
                3,
                3,
                "schedules.tick",
                "missing required key 'cron'",
                'say when it runs: `cron: "0 3 * * *"` or `cron: {minute: 0, hour: 3}`',
            ),
        ],
    ),
    case(
        "unknown_time_zone_did_you_mean",
        """
        version: 1
        schedules:
          report:
            function: sample_tasks:echo
            cron: "0 8 * * *"
            timezone: Europe/Berln
        """,
        [
            Expect(
                6,
                15,
                "schedules.report.timezone",
                "unknown time zone 'Europe/Berln'",
                "did you mean 'Europe/Berlin'?",
            ),
        ],
    ),
    case(
        "unknown_file_time_zone",
        """
        version: 1
        timezone: Mars/Olympus
        """,
        [
            Expect(
                2,
                11,
                "timezone",
                "unknown time zone 'Mars/Olympus'",
                "use an IANA name such as Europe/Berlin, or UTC, or local",
            ),
        ],
    ),
    case(
        "schedule_names_unknown_task",
        """
        version: 1
        tasks:
          send_report:
            function: sample_tasks:echo
        schedules:
          report:
            task: send_reprot
            cron: "0 8 * * *"
        """,
        [
            Expect(
                7,
                11,
                "schedules.report.task",
                "unknown task 'send_reprot'",
                "did you mean 'send_report'?",
            ),
        ],
    ),
    case(
        "task_names_unknown_instance",
        """
        version: 1
        instances:
          fast:
            backend: memory
        tasks:
          add:
            function: sample_tasks:add
            instance: fats
        """,
        [
            Expect(8, 15, "tasks.add.instance", "unknown instance 'fats'", "did you mean 'fast'?"),
        ],
    ),
    case(
        "several_instances_and_no_instance_key",
        """
        version: 1
        instances:
          local: {}
          fast:
            backend: memory
        tasks:
          add:
            function: sample_tasks:add
        """,
        [
            Expect(
                7,
                3,
                "tasks.add",
                "several instances are defined (local, fast); name one",
                "add `instance: local` (or another) to this definition",
            ),
        ],
    ),
    case(
        "schedule_with_task_and_function",
        """
        version: 1
        tasks:
          add:
            function: sample_tasks:add
        schedules:
          tick:
            task: add
            function: sample_tasks:echo
            cron: "* * * * *"
        """,
        [
            Expect(
                8,
                5,
                "schedules.tick.function",
                "give either 'function' or 'task', not both",
                "a schedule runs a task by name (task:) or a function (function:); remove one",
            ),
        ],
    ),
    case(
        "schedule_with_neither_task_nor_function",
        """
        version: 1
        schedules:
          tick:
            cron: "* * * * *"
        """,
        [
            Expect(
                3,
                3,
                "schedules.tick",
                "missing 'function' or 'task'",
                (
                    "name what to run: `task: NAME` (a task above) or `function: "
                    "module.path:function`"
                ),
            ),
        ],
    ),
    case(
        "schedule_instance_differs_from_its_task",
        """
        version: 1
        instances:
          local: {}
          other: {}
        tasks:
          add:
            function: sample_tasks:add
            instance: local
        schedules:
          tick:
            task: add
            instance: other
            cron: "* * * * *"
        """,
        [
            Expect(
                12,
                5,
                "schedules.tick.instance",
                "instance 'other' differs from the instance 'local' of task 'add'",
                "a schedule that names a task runs on that task's instance; remove this key",
            ),
        ],
    ),
    case(
        "duplicate_key",
        """
        version: 1
        tasks:
          add:
            function: sample_tasks:add
          echo:
            function: sample_tasks:echo
          add:
            function: sample_tasks:echo
        """,
        [
            Expect(
                7,
                3,
                "tasks.add",
                "duplicate key 'add' (first defined at line 3)",
                "YAML keeps only the last value of a repeated key; remove or rename one",
            ),
        ],
    ),
    case(
        "yaml_unclosed_bracket",
        """
        version: 1
        tasks:
          add: {function: sample_tasks:add
        """,
        [
            Expect(
                3,
                8,
                "",
                (
                    "YAML syntax error: expected ',' or '}', but got '<stream end>' (while "
                    "parsing a flow mapping)"
                ),
                "the file ends inside an unclosed quote, bracket or brace; close it",
            ),
        ],
    ),
    case(
        "yaml_unclosed_quote",
        """
        version: 1
        tasks:
          add:
            function: "sample_tasks:add
        """,
        [
            Expect(
                4,
                15,
                "",
                (
                    "YAML syntax error: found unexpected end of stream (while scanning a quoted "
                    "scalar)"
                ),
                "the file ends inside an unclosed quote, bracket or brace; close it",
            ),
        ],
    ),
    case(
        "yaml_bad_indentation",
        """
        version: 1
        tasks:
          add:
            function: sample_tasks:add
           retries: 2
        """,
        [
            Expect(
                5,
                4,
                "",
                (
                    "YAML syntax error: expected <block end>, but found '<block mapping start>' "
                    "(while parsing a block mapping at line 3, column 3)"
                ),
                "this line is not indented like the keys above it",
            ),
        ],
    ),
    case(
        "yaml_colon_in_plain_value",
        """
        version: 1
        tasks:
          add:
            function: sample_tasks: add
        """,
        [
            Expect(
                4,
                27,
                "",
                "YAML syntax error: mapping values are not allowed here",
                "quote a value that contains ': ', or fix the indentation of this line",
            ),
        ],
    ),
    case(
        "tab_indentation",
        "version: 1\ntasks:\n\tadd:\n\t\tfunction: sample_tasks:add\n",
        [
            Expect(
                3,
                1,
                "",
                "YAML syntax error: found character '\\t' that cannot start any token",
                "YAML does not allow tabs for indentation; indent with spaces",
            ),
        ],
    ),
    case(
        "unsupported_yaml_tag",
        """
        version: 1
        tasks:
          add:
            function: !!python/name:os.system
        """,
        [
            Expect(
                4,
                15,
                "tasks.add.function",
                "unsupported YAML tag !!python/name:os.system",
                "jobrunner reads plain YAML; remove the tag or fix the value",
            ),
        ],
    ),
    case(
        "empty_file",
        "",
        [
            Expect(
                0,
                0,
                "",
                "the file is empty",
                "start with `version: 1`, then instances:, tasks: and schedules:",
            ),
        ],
    ),
    case(
        "only_comments",
        "# jobs\n# nothing here yet\n",
        [
            Expect(
                0,
                0,
                "",
                "the file has only comments, no settings",
                "start with `version: 1`, then instances:, tasks: and schedules:",
            ),
        ],
    ),
    case(
        "list_at_top_level",
        """
        - version: 1
        """,
        [
            Expect(
                1,
                1,
                "",
                "expected a mapping at the top level, got a list",
                "start with `version: 1`, then instances:, tasks: and schedules:",
            ),
        ],
    ),
    case(
        "scalar_at_top_level",
        """
        version 1
        """,
        [
            Expect(
                1,
                1,
                "",
                "expected a mapping at the top level, got the string 'version 1'",
                "start with `version: 1`, then instances:, tasks: and schedules:",
            ),
        ],
    ),
    case(
        "missing_version",
        """
        tasks: {}
        """,
        [
            Expect(
                1,
                1,
                "",
                "missing required key 'version'",
                "add `version: 1` at the top of the file",
            ),
        ],
    ),
    case(
        "version_2",
        """
        version: 2
        """,
        [
            Expect(
                1,
                10,
                "version",
                "unsupported version 2; expected 1",
                "this jobrunner reads version 1 files",
            ),
        ],
    ),
    case(
        "version_quoted",
        """
        version: "1"
        """,
        [
            Expect(
                1,
                10,
                "version",
                "unsupported version '1'; expected 1",
                "write `version: 1` without quotes (a number, not a string)",
            ),
        ],
    ),
    case(
        "task_name_with_dash",
        """
        version: 1
        tasks:
          my-task:
            function: sample_tasks:add
        """,
        [
            Expect(
                3,
                3,
                "tasks.my-task",
                "task name 'my-task' is not valid",
                (
                    "use letters, digits and _, not starting with a digit (a Python "
                    "identifier), e.g. 'my_task'"
                ),
            ),
        ],
    ),
    case(
        "instance_name_with_space",
        """
        version: 1
        instances:
          my queue:
            backend: memory
        """,
        [
            Expect(
                3,
                3,
                "instances.my queue",
                "instance name 'my queue' is not valid",
                "use letters, digits, _ and -, not starting with a digit or -, e.g. 'my_queue'",
            ),
        ],
    ),
    case(
        "task_missing_function",
        """
        version: 1
        tasks:
          add:
            retries: 1
        """,
        [
            Expect(
                3,
                3,
                "tasks.add",
                "missing required key 'function'",
                "name the function to run: `function: module.path:function_name`",
            ),
        ],
    ),
    case(
        "file_backend_without_path",
        """
        version: 1
        instances:
          files:
            backend: file
        """,
        [
            Expect(
                3,
                3,
                "instances.files",
                "missing required key 'path'",
                "backend file keeps its queue in a folder: add `path: FOLDER`",
            ),
        ],
    ),
    case(
        "custom_backend_without_storage_class",
        """
        version: 1
        instances:
          mine:
            backend: custom
        """,
        [
            Expect(
                3,
                3,
                "instances.mine",
                "missing required key 'storage_class'",
                (
                    "backend custom needs `storage_class: module.path:ClassName` (a huey "
                    "BaseStorage subclass)"
                ),
            ),
        ],
    ),
    case(
        "unset_variable",
        """
        version: 1
        instances:
          fast:
            backend: redis
            url: ${JR_TEST_UNSET_URL}
        """,
        [
            Expect(
                5,
                10,
                "instances.fast.url",
                "environment variable JR_TEST_UNSET_URL is not set",
                (
                    "export JR_TEST_UNSET_URL=..., or give a default with "
                    "${JR_TEST_UNSET_URL:-value}"
                ),
            ),
        ],
    ),
    case(
        "unset_variable_in_typed_value",
        """
        version: 1
        instances:
          fast:
            backend: redis
            port: ${JR_TEST_UNSET_PORT}
        """,
        [
            Expect(
                5,
                11,
                "instances.fast.port",
                "environment variable JR_TEST_UNSET_PORT is not set",
                (
                    "export JR_TEST_UNSET_PORT=..., or give a default with "
                    "${JR_TEST_UNSET_PORT:-value}"
                ),
            ),
        ],
    ),
    case(
        "malformed_variable_reference",
        """
        version: 1
        instances:
          fast:
            backend: redis
            url: redis://${JR HOST}:6379/0
        """,
        [
            Expect(
                5,
                18,
                "instances.fast.url",
                "malformed variable reference '${JR HOST}'",
                "write ${NAME} or ${NAME:-default}; use $$ for a literal $",
            ),
        ],
    ),
    case(
        "unclosed_variable_reference",
        """
        version: 1
        instances:
          fast:
            backend: redis
            url: ${JR_TEST_URL
        """,
        [
            Expect(
                5,
                10,
                "instances.fast.url",
                "malformed variable reference '${JR_TEST_URL'",
                "write ${NAME} or ${NAME:-default}; use $$ for a literal $",
            ),
        ],
    ),
    case(
        "variable_default_of_wrong_type",
        """
        version: 1
        instances:
          fast:
            backend: redis
            port: ${JR_TEST_UNSET_PORT:-63x9}
        """,
        [
            Expect(
                5, 11, "instances.fast.port", "expected an integer, got the string '63x9'", None
            ),
        ],
    ),
    case(
        "import_module_missing",
        """
        version: 1
        tasks:
          add:
            function: no_such_module:add
        """,
        [
            Expect(
                4,
                15,
                "tasks.add.function",
                "cannot import no_such_module:add: no module named 'no_such_module'",
                (
                    "check the spelling, and that the module's folder is the YAML file's "
                    "folder, the working directory or on PYTHONPATH"
                ),
            ),
        ],
    ),
    case(
        "import_attribute_missing",
        """
        version: 1
        tasks:
          add:
            function: sample_tasks:ad
        """,
        [
            Expect(
                4,
                15,
                "tasks.add.function",
                "cannot import sample_tasks:ad: module 'sample_tasks' has no attribute 'ad'",
                "check the name after the colon",
            ),
        ],
    ),
    case(
        "import_not_callable",
        """
        version: 1
        tasks:
          add:
            function: sample_tasks:NOT_CALLABLE
        """,
        [
            Expect(
                4,
                15,
                "tasks.add.function",
                "sample_tasks:NOT_CALLABLE is an int, not a function",
                "point function: at a function defined with def",
            ),
        ],
    ),
    case(
        "import_async_function",
        """
        version: 1
        schedules:
          tick:
            function: sample_tasks:not_plain
            cron: "* * * * *"
        """,
        [
            Expect(
                4,
                15,
                "schedules.tick.function",
                "sample_tasks:not_plain is an async function; huey runs plain functions",
                "wrap it in a plain function: def run(*args): return asyncio.run(coro(*args))",
            ),
        ],
    ),
    case(
        "import_module_raises",
        """
        version: 1
        tasks:
          boom:
            function: jr_explodes_on_import:run
        """,
        [
            Expect(
                4,
                15,
                "tasks.boom.function",
                (
                    "cannot import jr_explodes_on_import:run: importing 'jr_explodes_on_import' "
                    "raised RuntimeError: no database configured"
                ),
                "run `python -c 'import jr_explodes_on_import'` to see the full traceback",
            ),
        ],
        files={"jr_explodes_on_import.py": "raise RuntimeError('no database configured')\n"},
    ),
    case(
        "import_module_needs_missing_package",
        """
        version: 1
        tasks:
          heavy:
            function: jr_needs_missing_dep:run
        """,
        [
            Expect(
                4,
                15,
                "tasks.heavy.function",
                (
                    "cannot import jr_needs_missing_dep:run: its module needs "
                    "'jr_not_installed_anywhere', which is not installed"
                ),
                "pip install the package that provides 'jr_not_installed_anywhere'",
            ),
        ],
        files={"jr_needs_missing_dep.py": "import jr_not_installed_anywhere\n\ndef run(): pass\n"},
    ),
    case(
        "import_path_without_colon",
        """
        version: 1
        tasks:
          add:
            function: sample_tasks.add
        """,
        [
            Expect(
                4,
                15,
                "tasks.add.function",
                "'sample_tasks.add' is not an import path",
                (
                    "write module.path:name with a colon before the name, e.g. "
                    "examples.tasks:count_beans"
                ),
            ),
        ],
    ),
    case(
        "storage_class_not_a_storage",
        """
        version: 1
        instances:
          mine:
            backend: custom
            storage_class: sample_tasks:echo
        """,
        [
            Expect(
                5,
                20,
                "instances.mine.storage_class",
                "sample_tasks:echo is a function, not a huey storage class",
                "point storage_class: at a subclass of huey.storage.BaseStorage",
            ),
        ],
    ),
    case(
        "several_errors_reported_in_line_order",
        """
        version: 1
        instances:
          fast:
            backend: redis
            port: ${JR_TEST_UNSET_PORT}
            hots: 127.0.0.1
        tasks:
          add:
            function: sample_tasks:add
            retries: -1
          add:
            function: sample_tasks:echo
          send:
            function: sample_tasks:nope
            instance: fats
        schedules:
          report:
            task: sned
            cron: "0 24 * * *"
            timezone: Europe/Berln
        """,
        [
            Expect(
                5,
                11,
                "instances.fast.port",
                "environment variable JR_TEST_UNSET_PORT is not set",
                (
                    "export JR_TEST_UNSET_PORT=..., or give a default with "
                    "${JR_TEST_UNSET_PORT:-value}"
                ),
            ),
            Expect(6, 5, "instances.fast.hots", "unknown key 'hots'", "did you mean 'host'?"),
            Expect(10, 14, "tasks.add.retries", "-1 is less than the minimum of 0", None),
            Expect(
                11,
                3,
                "tasks.add",
                "duplicate key 'add' (first defined at line 8)",
                "YAML keeps only the last value of a repeated key; remove or rename one",
            ),
            Expect(
                14,
                15,
                "tasks.send.function",
                "cannot import sample_tasks:nope: module 'sample_tasks' has no attribute 'nope'",
                "check the name after the colon",
            ),
            Expect(
                15, 15, "tasks.send.instance", "unknown instance 'fats'", "did you mean 'fast'?"
            ),
            Expect(18, 11, "schedules.report.task", "unknown task 'sned'", "did you mean 'send'?"),
            Expect(
                19,
                14,
                "schedules.report.cron",
                "invalid cron: hour '24' is not valid",
                "hour takes 0-23, written as *, */n, a-b, a-b/n or a comma list of those",
            ),
            Expect(
                20,
                15,
                "schedules.report.timezone",
                "unknown time zone 'Europe/Berln'",
                "did you mean 'Europe/Berlin'?",
            ),
        ],
    ),
]


def observed(issues: tuple[Issue, ...]) -> list[Expect]:
    return [Expect(i.line, i.column, i.path, i.message, i.hint) for i in issues]


@pytest.mark.parametrize(("text", "expected", "files"), CASES)
def test_malformed_file_is_reported_exactly(
    write_config: Callable[..., Path],
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    text: str,
    expected: list[Expect],
    files: dict[str, str],
) -> None:
    for name in UNSET:
        monkeypatch.delenv(name, raising=False)
    for name, source in files.items():
        (project / name).write_text(source, encoding="utf-8")
    path = write_config(text)

    with pytest.raises(ConfigError) as caught:
        jobrunner.load_config(path)

    assert observed(caught.value.issues) == expected
    # Every issue names the file it is about, and the error text is the issues' text.
    assert {issue.file for issue in caught.value.issues} == {os.fspath(path)}
    assert str(caught.value) == "\n".join(issue.format() for issue in caught.value.issues)


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 35
    ids = [param.id for param in CASES]
    assert len(ids) == len(set(ids))


def test_missing_file(project: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        jobrunner.load_config(project / "nope.yaml")
    assert observed(caught.value.issues) == [
        Expect(0, 0, "", "no such file", "pass the path of your jobs.yaml")
    ]
    assert caught.value.issues[0].format() == (
        f"{project / 'nope.yaml'}: no such file\n  hint: pass the path of your jobs.yaml"
    )


def test_folder_instead_of_file(project: Path) -> None:
    (project / "jobs.yaml").mkdir()
    with pytest.raises(ConfigError) as caught:
        jobrunner.load_config(project / "jobs.yaml")
    assert observed(caught.value.issues) == [
        Expect(0, 0, "", "is a folder, not a file", "pass the path of your jobs.yaml")
    ]


def test_non_utf8_bytes_point_at_the_byte(project: Path) -> None:
    path = project / "jobs.yaml"
    path.write_bytes(b"version: 1\n# caf\xe9 tasks\ntasks: {}\n")
    with pytest.raises(ConfigError) as caught:
        jobrunner.load_config(path)
    assert observed(caught.value.issues) == [
        Expect(
            2,
            6,
            "",
            "not UTF-8 text: byte 0xe9 (invalid continuation byte)",
            "save the file as UTF-8",
        )
    ]
