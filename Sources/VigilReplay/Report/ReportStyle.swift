// The report's stylesheet: screen (fits 1280 px, tables wrap) and print (A4, one section a page,
// plots never split). System fonts only, no references outside the file.

enum ReportStyle {
    static let css = """
        *{box-sizing:border-box}
        html{-webkit-print-color-adjust:exact;print-color-adjust:exact}
        body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans","Liberation Sans",Arial,sans-serif;color:#1d1d1f;background:#fff;margin:0 auto;padding:16px 24px 32px;max-width:1280px}
        h1{font-size:22px;margin:4px 0 2px}
        h2{font-size:18px;margin:28px 0 8px;padding-bottom:4px;border-bottom:1px solid #ccc}
        h3{font-size:15px;margin:18px 0 6px}
        p{margin:4px 0 8px;max-width:80em}
        .lead{color:#444}
        table{border-collapse:collapse;margin:6px 0 18px;max-width:100%}
        caption{caption-side:bottom;text-align:left;font-size:12px;color:#555;padding-top:4px}
        th,td{border:1px solid #d4d4d4;padding:3px 8px;vertical-align:top}
        thead th{background:#f1f1f1;text-align:center;font-weight:600}
        tbody th{background:#fafafa;text-align:left;font-weight:600;white-space:nowrap}
        td{text-align:right;font-variant-numeric:tabular-nums}
        td .text{display:block;text-align:left;overflow-wrap:anywhere}
        td .why{display:inline-block;max-width:26em}
        th.run{white-space:nowrap}
        .ci,.why{color:#5a5a5a;font-size:12px}
        .ci{white-space:nowrap}
        .na{color:#6a6a6a;font-style:italic}
        tr.differs td,tr.differs th{background:#fff3cd}
        tr.promoted td{background:#eef6ee}
        .swatch{display:inline-block;width:11px;height:11px;margin-right:5px;vertical-align:-1px;border-radius:2px}
        .runs span.run{margin-right:18px;white-space:nowrap}
        .plots{display:grid;grid-template-columns:repeat(auto-fit,minmax(460px,1fr));gap:16px 20px;margin:8px 0 12px}
        figure{margin:0}
        figure svg{display:block;width:100%;max-width:640px;height:auto;border:1px solid #e2e2e2}
        figcaption{font-size:12px;color:#555;margin-top:4px;max-width:640px}
        @media print{
        @page{size:A4;margin:12mm}
        body{max-width:none;padding:0;font-size:10pt}
        section{break-before:page}
        section:first-of-type{break-before:auto}
        h2,h3{break-after:avoid}
        .plots{display:block}
        figure{break-inside:avoid;margin:0 0 4mm}
        figure svg{width:112mm;max-width:none;margin:0 auto}
        figcaption{max-width:none;margin:1mm 10mm 0}
        tr{break-inside:avoid}
        thead{display:table-header-group}
        }
        """
}
