-- UCI Online Retail (a UK gift retailer's invoice lines, 2010-12-01 … 2011-12-09) cleaned into the
-- `transactions` source shape: one purchase line per row. Rows that are no purchase by a known customer
-- are dropped:
--   - no CustomerID: guest checkouts and stock adjustments cannot be segmented;
--   - InvoiceNo starting with C: cancellations (negative quantities, never linked to the original line);
--   - Quantity <= 0: stock write-offs and corrections;
--   - UnitPrice <= 0: free items, samples and the "Adjust bad debt" entries;
--   - StockCodes that are no product: postage, discounts, manual entries, fees, samples, charity, pads.
-- Exact duplicate rows are kept: nothing tells a double scan from two identical items bought together.
-- InvoiceDate is UK local time without a zone, so Europe/London makes it an instant (BST in summer).
-- The raw table is the CSV as published (schema: scripts/run_retail.py); the view is what the DAG reads
-- with source_kind = transactions.
CREATE OR REPLACE VIEW {{ transactions_view }} AS
SELECT
  CustomerID AS customer_id,
  InvoiceNo AS order_id,
  TIMESTAMP(InvoiceDate, 'Europe/London') AS ordered_at,
  Quantity * UnitPrice AS amount,
  Quantity AS quantity,
  StockCode AS stock_code,
  Country AS country
FROM {{ raw_table }}
WHERE CustomerID IS NOT NULL
  AND NOT STARTS_WITH(InvoiceNo, 'C')
  AND Quantity > 0
  AND UnitPrice > 0
  AND StockCode NOT IN ('POST', 'D', 'M', 'm', 'BANK CHARGES', 'AMAZONFEE', 'DOT', 'C2', 'S', 'B', 'CRUK', 'PADS')
