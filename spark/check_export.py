"""Loads a `blocksmith export` (BigQuery's crypto_bitcoin tables, newline-delimited JSON)
into Apache Spark with an explicit schema and checks it.

    spark-submit spark/check_export.py EXPORT_DIR [--expected FILE] [--schemas DIR] [--report FILE]

EXPORT_DIR holds `blocks/` and `transactions/` (Hive partitions start_block=/end_block=,
.json or .json.gz); any path Spark reads: a local folder, hdfs://, gs://, s3a://. The schema
comes from the BigQuery schema files (schemas/crypto_bitcoin/ beside this folder, or
--schemas): NUMERIC as decimal(38,9) (BigQuery's NUMERIC), TIMESTAMP as timestamp, DATE as
date, repeated records as arrays of structs. A row that does not fit the schema fails the job.

It checks, per block:
  - the blocks table's transaction_count equals the transactions rows of that block;
  - each transaction's input_count and output_count equal its arrays' lengths, its
    input_value and output_value their sums, and its fee input_value - output_value
    (0 for a coinbase);
and, with --expected (newline-delimited JSON, one object per block: number,
transaction_count, output_value, fee, input_count; `blocksmith` tests write it from the
index), that every block's transactions, sum of output values, fees and input counts equal
those. Exit status 0 when everything matches, 1 otherwise; --report writes the totals.
"""
import argparse
import json
import os
import sys

from pyspark.sql import SparkSession, functions as F, types as T

HERE = os.path.dirname(os.path.abspath(__file__))


def spark_type(field):
    """The Spark type of one BigQuery schema field."""
    kind = field["type"].upper()
    if kind in ("RECORD", "STRUCT"):
        base = T.StructType([T.StructField(f["name"], spark_type(f), True) for f in field["fields"]])
    else:
        base = {
            "STRING": T.StringType(), "INT64": T.LongType(), "INTEGER": T.LongType(),
            "NUMERIC": T.DecimalType(38, 9), "BOOLEAN": T.BooleanType(), "BOOL": T.BooleanType(),
            "TIMESTAMP": T.TimestampType(), "DATE": T.DateType(), "FLOAT64": T.DoubleType(),
        }[kind]
    return T.ArrayType(base, True) if field.get("mode", "").upper() == "REPEATED" else base


def schema(path):
    with open(path) as f:
        fields = json.load(f)
    return T.StructType([T.StructField(f["name"], spark_type(f), f.get("mode", "").upper() != "REQUIRED") for f in fields])


def read(spark, directory, table, schemas):
    return (spark.read.schema(schema(os.path.join(schemas, table + ".json")))
            .option("mode", "FAILFAST")
            .option("timestampFormat", "yyyy-MM-dd'T'HH:mm:ssXXX")
            .option("dateFormat", "yyyy-MM-dd")
            .json(directory.rstrip("/") + "/" + table))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("export_dir")
    parser.add_argument("--schemas", default=os.path.join(os.path.dirname(HERE), "schemas", "crypto_bitcoin"))
    parser.add_argument("--expected", help="newline-delimited JSON per block: number, transaction_count, output_value, fee, input_count")
    parser.add_argument("--report", help="write the totals here as JSON")
    args = parser.parse_args()

    spark = (SparkSession.builder.appName("blocksmith export check")
             .config("spark.sql.session.timeZone", "UTC").config("spark.ui.showConsoleProgress", "false").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    blocks = read(spark, args.export_dir, "blocks", args.schemas)
    transactions = read(spark, args.export_dir, "transactions", args.schemas)
    problems = []

    # Each transaction against its own arrays.
    inner = transactions.select(
        "hash", "block_number", "is_coinbase", "input_count", "output_count", "input_value", "output_value", "fee",
        F.size("inputs").alias("inputs_length"), F.size("outputs").alias("outputs_length"),
        F.aggregate("inputs", F.lit(0).cast("decimal(38,9)"),
                    lambda acc, i: (acc + F.coalesce(i.value, F.lit(0))).cast("decimal(38,9)")).alias("inputs_sum"),
        F.aggregate("outputs", F.lit(0).cast("decimal(38,9)"), lambda acc, o: (acc + o.value).cast("decimal(38,9)")).alias("outputs_sum"))
    bad = inner.where(
        (F.col("input_count") != F.col("inputs_length")) | (F.col("output_count") != F.col("outputs_length"))
        | (F.col("output_value") != F.col("outputs_sum"))
        | (~F.col("is_coinbase") & (F.col("input_value") != F.col("inputs_sum")))
        | (F.col("is_coinbase") & ((F.col("fee") != 0) | (F.col("input_count") != 0)))
        | (~F.col("is_coinbase") & (F.col("fee") != F.col("input_value") - F.col("output_value"))))
    for row in bad.limit(5).collect():
        problems.append(f"transaction {row.hash} (block {row.block_number}) disagrees with its own inputs or outputs: {row.asDict()}")

    per_block = transactions.groupBy(F.col("block_number").alias("number")).agg(
        F.count(F.lit(1)).alias("transactions"),
        F.sum("output_value").alias("output_value"),
        F.sum("fee").alias("fee"),
        F.sum("input_count").alias("input_count"),
        F.sum(F.col("is_coinbase").cast("int")).alias("coinbases"))
    joined = blocks.select("number", "hash", "transaction_count").join(per_block, "number", "full_outer")
    for row in joined.where(F.col("transactions").isNull() | F.col("transaction_count").isNull()
                            | (F.col("transactions") != F.col("transaction_count")) | (F.col("coinbases") != 1)).limit(5).collect():
        problems.append(f"block {row.number}: blocks.transaction_count {row.transaction_count}, "
                        f"{row.transactions} transactions rows, {row.coinbases} coinbases")
    duplicates = blocks.groupBy("number").count().where("count > 1").limit(5).collect()
    problems += [f"block {row.number} appears {row['count']} times" for row in duplicates]

    if args.expected:
        expected = spark.read.schema(T.StructType([
            T.StructField("number", T.LongType()), T.StructField("transaction_count", T.LongType()),
            T.StructField("output_value", T.DecimalType(38, 9)), T.StructField("fee", T.DecimalType(38, 9)),
            T.StructField("input_count", T.LongType())])).option("mode", "FAILFAST").json(args.expected)
        e = expected.select(*[F.col(c).alias("expected_" + c) for c in expected.columns])
        compared = per_block.join(e, per_block.number == e.expected_number, "full_outer")
        mismatched = compared.where(
            F.col("number").isNull() | F.col("expected_number").isNull()
            | (F.col("transactions") != F.col("expected_transaction_count"))
            | (F.col("output_value") != F.col("expected_output_value"))
            | (F.col("fee") != F.col("expected_fee"))
            | (F.col("input_count") != F.col("expected_input_count")))
        count = mismatched.count()
        for row in mismatched.limit(5).collect():
            problems.append(f"block {row.number or row.expected_number} differs from the index: {row.asDict()}")
        if count:
            problems.append(f"{count} blocks differ from the index")

    totals = per_block.agg(F.count(F.lit(1)).alias("blocks"), F.sum("transactions").alias("transactions"),
                           F.sum("output_value").alias("output_value"), F.sum("fee").alias("fee"),
                           F.sum("input_count").alias("input_count")).collect()[0].asDict()
    totals = {k: (int(v) if v is not None else None) for k, v in totals.items()}
    totals["block_rows"] = blocks.count()
    print(json.dumps(totals, sort_keys=True))
    if args.report:
        with open(args.report, "w") as f:
            json.dump({"totals": totals, "problems": problems}, f, indent=2, sort_keys=True)
    spark.stop()
    for problem in problems:
        print("MISMATCH:", problem, file=sys.stderr)
    print("spark check: " + ("ok" if not problems else f"{len(problems)} problems"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
