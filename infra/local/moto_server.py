"""moto's server with DynamoDB requests made atomic, as DynamoDB makes them.

moto applies a TransactWriteItems by deep-copying the tables, applying the items one by one
and, when a condition fails, putting the copies back. Under concurrent requests (moto's server
is threaded) that rollback silently undoes writes other requests made in between, and a
condition checked by one request can be invalidated before its write. Real DynamoDB makes each
request (a conditional write, a transaction) atomic and isolated. So that a concurrency test
against the emulator tests our conditions and not moto's races, this launcher serialises the
DynamoDB requests; other services (S3, SQS long polls, Scheduler) stay concurrent.
"""

import sys
import threading

from moto.dynamodb.responses import DynamoHandler

_lock = threading.RLock()
_call_action = DynamoHandler.call_action


def _serialised_call_action(self):
    with _lock:
        return _call_action(self)


DynamoHandler.call_action = _serialised_call_action


# moto backs a transaction up by deep-copying every table it touches, which costs time in
# proportion to the table's size on every transaction. With requests serialised, backing up
# only the items the transaction names is enough to roll it back exactly.
import copy  # noqa: E402

from moto.dynamodb.models import DynamoDBBackend  # noqa: E402

_transact = DynamoDBBackend.transact_write_items


def _item_key(backend, op_type, op):
    table = backend.get_table(op["TableName"])
    if op_type == "Put":
        attrs = op["Item"]
        key = {table.hash_key_attr: attrs[table.hash_key_attr]}
        if table.range_key_attr is not None:
            key[table.range_key_attr] = attrs[table.range_key_attr]
        return key
    return op["Key"]


def _transact_write_items(self, transact_items):
    backups = []
    try:
        for item in transact_items:
            op_type, op = next(iter(item.items()))
            key = _item_key(self, op_type, op)
            current = self.get_item(op["TableName"], key)
            backups.append((op["TableName"], key, copy.deepcopy(current.to_json()["Attributes"]) if current else None))
    except Exception:
        # Malformed input: let moto's own code produce its error.
        return _transact(self, transact_items)

    class _NoTableCopy:
        # moto's function deep-copies whole tables for its rollback; hand it the live table
        # (its rollback then re-assigns the same object) and roll back the items ourselves.
        @staticmethod
        def deepcopy(obj, *a, **kw):
            return obj

    import moto.dynamodb.models as models

    models.copy = _NoTableCopy
    try:
        return _transact(self, transact_items)
    except Exception:
        for table_name, key, attrs in reversed(backups):
            if attrs is None:
                try:
                    self.delete_item(table_name, key)
                except Exception:
                    pass
            else:
                self.put_item(table_name, attrs)
        raise
    finally:
        models.copy = copy


DynamoDBBackend.transact_write_items = _transact_write_items

if __name__ == "__main__":
    from moto.server import main

    sys.exit(main())
